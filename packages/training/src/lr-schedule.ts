import type * as tf from '@tensorflow/tfjs-core';
import type { JobSpec } from '@mnist/protocol';

/**
 * The learning rate of weak scaling (spec.scaling, step sync): N replicas at `batchPerReplica`
 * each take steps of N times the batch, so the rate is N times the spec's (the linear
 * scaling rule), reached by a linear warmup from the spec's rate over `warmupEpochs`
 * epochs (Goyal et al. 2017). A pure function of the optimizer step, so a resumed run
 * continues on the same curve. Undefined when the rate is the spec's throughout.
 */
export function learningRateSchedule(
  spec: JobSpec,
  worldSize: number,
  stepsPerEpoch: number,
): ((step: number) => number) | undefined {
  const s = spec.scaling;
  if (!s || s.lr === 'none' || worldSize === 1 || spec.sync !== 'step') return undefined;
  const base = spec.optimizer.lr;
  const warmupSteps = s.warmupEpochs * stepsPerEpoch;
  return (step) => base * (step < warmupSteps ? 1 + ((worldSize - 1) * step) / warmupSteps : worldSize);
}

/** Sets an optimizer's rate for its next step (tfjs's SGD and momentum have a setter; Adam reads the field). */
export function setLearningRate(optimizer: tf.Optimizer, lr: number): void {
  const o = optimizer as unknown as { setLearningRate?: (lr: number) => void; learningRate: number };
  if (o.setLearningRate) o.setLearningRate(lr);
  else o.learningRate = lr;
}
