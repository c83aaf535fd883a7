import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import type { EpochRecord, JobSpec } from '@mnist/protocol';
import { setDropoutStep } from '@mnist/models';
import { BatchBuffer, epochBatches, gatherBatch, stepsPerEpoch, type Dataset } from '@mnist/data';
import type { Collective } from './collective.js';
import { evaluate, evaluateSharded } from './evaluate.js';
import { countCorrect, crossEntropy } from './loss.js';
import { createReplicaSync, type LocalStep, type NamedTensor } from './replica-sync.js';

export interface StepProgress {
  epoch: number;
  /** Steps done in this epoch (1-based after the step) and in the epoch in all. */
  step: number;
  steps: number;
  /** Training images this rank has processed this epoch. */
  images: number;
  elapsedSec: number;
  /** Mean training loss so far this epoch. Reads back from the device: call it sparingly. */
  loss(): number;
}

export interface EpochState {
  /** Optimizer steps taken so far. */
  step: number;
  /** State of the replica sync to checkpoint beside the optimizer's (local SGD's outer momentum). */
  syncState: NamedTensor[];
}

export interface LoopOptions {
  spec: JobSpec;
  data: Dataset;
  model: tfl.LayersModel;
  optimizer: tf.Optimizer;
  collective: Collective;
  /** Backend name stamped on every record. */
  backend: string;
  /** First epoch to run (1-based; > 1 when resuming) and optimizer steps already taken. */
  startEpoch: number;
  startStep: number;
  /** Replica-sync state from the checkpoint being resumed. */
  syncState?: NamedTensor[];
  onStep?: (p: StepProgress) => void;
  /** Rank 0 only, after evaluation: sinks, metrics file, checkpoint. Awaited before the next epoch. */
  onEpoch?: (record: EpochRecord, state: EpochState) => Promise<void>;
  signal?: AbortSignal;
  evalBatchSize?: number;
}

export class TrainingCancelledError extends Error {
  override readonly name = 'TrainingCancelledError';
  constructor(readonly epoch: number, readonly step: number) {
    super(`training cancelled at epoch ${epoch}, step ${step}`);
  }
}

const IMAGE_SHAPE = [28, 28, 1] as const;
const YIELD_EVERY_MS = 10;

/**
 * The training loop: for each epoch, for each (sharded) batch: forward + backward on this
 * rank's shard, then the replica sync turns the ranks' gradients into the update (every
 * step, or local SGD with periodic averaging: see spec.sync); then all ranks evaluate
 * their share of the test set and rank 0 hands the epoch record to `onEpoch`.
 */
export async function runEpochs(o: LoopOptions): Promise<EpochRecord[]> {
  const { spec, data, model, optimizer, collective } = o;
  const { rank, worldSize } = collective;
  const vars = model.trainableWeights.map((w) => w.read() as tf.Variable);
  const sync = createReplicaSync(spec.sync, { model, vars, optimizer, collective });
  if (o.syncState) sync.restore(o.syncState);
  const records: EpochRecord[] = [];
  // One buffer for every batch: the batch's tensors are disposed before the next gather
  // (some backends keep the array they are given instead of copying it).
  const buffer = new BatchBuffer(Math.ceil(spec.batchSize / worldSize));
  // Local SGD records each rank's share of the global mean: progress scales it back up.
  const progressScale = spec.sync === 'step' ? 1 : worldSize;
  let lastYield = performance.now();
  let globalStep = o.startStep;

  for (let epoch = o.startEpoch; epoch <= spec.epochs; epoch++) {
    const epochStart = performance.now();
    const steps = stepsPerEpoch(data.train.count, spec.batchSize);
    // Running sums stay on the device; they are read once per epoch (and by progress, when asked).
    let lossSum = tf.scalar(0);
    let correctSum = tf.scalar(0);
    let images = 0;
    let globalImages = 0;
    let localLoss: number;
    let localCorrect: number;
    try {
      for (const batch of epochBatches({ n: data.train.count, batchSize: spec.batchSize, seed: spec.seed, epoch, rank, worldSize })) {
        if (o.signal?.aborted) throw new TrainingCancelledError(epoch, batch.step);
        setDropoutStep(model, globalStep, rank);
        const count = batch.indices.length;

        // forward + backward on this rank's shard.
        let local: LocalStep | undefined;
        if (count > 0) {
          const { x, y } = gatherBatch(data.train, batch.indices, buffer);
          const xs = tf.tensor4d(x, [count, ...IMAGE_SHAPE]);
          const ys = tf.tensor1d(y, 'int32');
          let correct: tf.Scalar | undefined;
          const denominator = sync.lossDenominator(count, batch.globalCount);
          const { value, grads } = tf.variableGrads(() => {
            const logits = model.apply(xs, { training: true }) as tf.Tensor2D;
            correct = tf.keep(countCorrect(logits, ys));
            return crossEntropy(logits, ys, denominator);
          }, vars);
          tf.dispose([xs, ys]);
          // The record's loss is this rank's share of the global batch mean.
          const share = denominator / batch.globalCount;
          const loss = share === 1 ? value : (tf.tidy(() => tf.mul(value, share)) as tf.Scalar);
          if (loss !== value) value.dispose();
          local = { grads: vars.map((v) => grads[v.name]!), loss, correct: correct! };
        }

        // sync + step: the same update on every rank.
        const { loss, correct } = await sync.step(local, batch.step + 1 === steps);
        const [nextLoss, nextCorrect] = [tf.add(lossSum, loss), tf.add(correctSum, correct)];
        tf.dispose([lossSum, correctSum, loss, correct]);
        lossSum = nextLoss as tf.Scalar;
        correctSum = nextCorrect as tf.Scalar;
        images += count;
        globalImages += batch.globalCount;
        globalStep++;

        // log: progress is cheap unless the consumer asks for the loss.
        if (o.onStep) {
          const doneSteps = batch.step + 1;
          const currentLoss = lossSum;
          o.onStep({
            epoch,
            step: doneSteps,
            steps,
            images,
            elapsedSec: (performance.now() - epochStart) / 1000,
            loss: () => (currentLoss.dataSync()[0]! * progressScale) / doneSteps,
          });
        }

        // Steps that do not wait on the network never yield: do it now and then so the process
        // still serves timers and I/O (abort signals, heartbeats, broker acks) while it trains.
        // A turn of the event loop costs ~0.1 ms: take one every YIELD_EVERY_MS, not every step.
        if (performance.now() - lastYield > YIELD_EVERY_MS) {
          await new Promise<void>((resolve) => setImmediate(resolve));
          lastYield = performance.now();
        }
      }
      // the epoch's sums: one read-back per epoch.
      localLoss = lossSum.dataSync()[0]!;
      localCorrect = correctSum.dataSync()[0]!;
    } finally {
      tf.dispose([lossSum, correctSum]);
    }
    const trainSeconds = (performance.now() - epochStart) / 1000;
    const [epochLoss, epochCorrect] = await sync.epochTotals(localLoss, localCorrect);

    // evaluate: each rank its share of the test set; rank 0 records.
    const test = worldSize > 1 ? await evaluateSharded(model, data.test, collective, o.evalBatchSize) : evaluate(model, data.test, o.evalBatchSize);
    if (rank === 0) {
      const record: EpochRecord = {
        epoch,
        trainLoss: epochLoss / steps,
        trainAcc: epochCorrect / globalImages,
        testLoss: test.loss,
        testAcc: test.acc,
        seconds: (performance.now() - epochStart) / 1000,
        imagesPerSec: globalImages / trainSeconds,
        backend: o.backend,
      };
      records.push(record);
      const syncState = sync.state();
      try {
        await o.onEpoch?.(record, { step: globalStep, syncState });
      } finally {
        tf.dispose(syncState.map((n) => n.tensor));
      }
    }
  }
  return records;
}
