import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import type { EpochRecord, JobSpec } from '@mnist/protocol';
import { setDropoutStep } from '@mnist/models';
import { BatchBuffer, epochBatches, gatherBatch, stepsPerEpoch, type Dataset, type Split } from '@mnist/data';
import type { Collective } from './collective.js';
import { countCorrect, crossEntropy } from './loss.js';

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
  onStep?: (p: StepProgress) => void;
  /** Rank 0 only, after evaluation: sinks, metrics file, checkpoint. Awaited before the next epoch. */
  onEpoch?: (record: EpochRecord, state: { step: number }) => Promise<void>;
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
 * Mean loss and accuracy of the model (inference mode) on a whole split, in batches.
 * With `predictions` (one slot per example), it also receives each example's arg-max
 * class from the same forward pass.
 */
export function evaluate(
  model: tfl.LayersModel,
  split: Split,
  batchSize = 1000,
  predictions?: Int32Array,
): { loss: number; acc: number } {
  const pixels = IMAGE_SHAPE[0] * IMAGE_SHAPE[1];
  let lossSum = tf.scalar(0);
  let correct = tf.scalar(0);
  for (let from = 0; from < split.count; from += batchSize) {
    const n = Math.min(batchSize, split.count - from);
    const [nextLoss, nextCorrect, classes] = tf.tidy(() => {
      // slice(): the cpu backend keeps the array it is given; never hand it a view of the dataset.
      const x = tf.tensor4d(split.images.slice(from * pixels, (from + n) * pixels), [n, ...IMAGE_SHAPE]);
      const y = tf.tensor1d(split.labels.slice(from, from + n), 'int32');
      const logits = model.apply(x, { training: false }) as tf.Tensor2D;
      const out = [tf.add(lossSum, crossEntropy(logits, y, 1)), tf.add(correct, countCorrect(logits, y))];
      return predictions ? [...out, tf.argMax(logits, 1)] : out;
    });
    lossSum.dispose();
    correct.dispose();
    lossSum = nextLoss as tf.Scalar;
    correct = nextCorrect as tf.Scalar;
    if (classes) {
      predictions!.set(classes.dataSync() as Int32Array, from); // a sync per batch, only when asked
      classes.dispose();
    }
  }
  // One read-back for the whole pass: the only sync point of evaluation.
  const [l, c] = [lossSum.dataSync()[0]!, correct.dataSync()[0]!];
  lossSum.dispose();
  correct.dispose();
  return { loss: l / split.count, acc: c / split.count };
}

/**
 * The training loop: for each epoch, for each (sharded) batch: forward + backward,
 * all-reduce the gradients, apply the same update on every rank; then rank 0
 * evaluates and hands the epoch record to `onEpoch`.
 */
export async function runEpochs(o: LoopOptions): Promise<EpochRecord[]> {
  const { spec, data, model, optimizer, collective } = o;
  const { rank, worldSize } = collective;
  const vars = model.trainableWeights.map((w) => w.read() as tf.Variable);
  const sizes = vars.map((v) => v.size);
  const gradLength = sizes.reduce((a, b) => a + b, 0);
  const records: EpochRecord[] = [];
  // One buffer for every batch: the batch's tensors are disposed before the next gather
  // (some backends keep the array they are given instead of copying it).
  const buffer = new BatchBuffer(Math.ceil(spec.batchSize / worldSize));
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

    for (const batch of epochBatches({ n: data.train.count, batchSize: spec.batchSize, seed: spec.seed, epoch, rank, worldSize })) {
      if (o.signal?.aborted) throw new TrainingCancelledError(epoch, batch.step);
      setDropoutStep(model, globalStep, rank);
      const count = batch.indices.length;

      // forward + backward on this rank's shard; the loss is scaled by the global count.
      let loss: tf.Scalar | undefined;
      let correct: tf.Scalar | undefined;
      let grads: tf.Tensor[] = [];
      if (count > 0) {
        const { x, y } = gatherBatch(data.train, batch.indices, buffer);
        const xs = tf.tensor4d(x, [count, ...IMAGE_SHAPE]);
        const ys = tf.tensor1d(y, 'int32');
        const result = tf.variableGrads(() => {
          const logits = model.apply(xs, { training: true }) as tf.Tensor2D;
          correct = tf.keep(countCorrect(logits, ys));
          return crossEntropy(logits, ys, batch.globalCount);
        }, vars);
        loss = result.value;
        grads = vars.map((v) => result.grads[v.name]!);
        xs.dispose();
        ys.dispose();
      }

      // all-reduce: sum of the ranks' scaled gradients = gradient of the global batch mean.
      // Loss and correct count ride along in the same message.
      if (worldSize > 1) {
        const flat = new Float32Array(gradLength + 2);
        let offset = 0;
        grads.forEach((g) => {
          flat.set(g.dataSync() as Float32Array, offset); // a sync point, needed to send the bytes
          offset += g.size;
        });
        flat[gradLength] = loss ? loss.dataSync()[0]! : 0;
        flat[gradLength + 1] = correct ? correct.dataSync()[0]! : 0;
        tf.dispose([...grads, loss, correct].filter((t): t is tf.Tensor => t !== undefined));
        const sum = await collective.allReduceSum(flat);
        offset = 0;
        grads = vars.map((v, i) => {
          const t = tf.tensor(sum.slice(offset, offset + sizes[i]!), v.shape);
          offset += sizes[i]!;
          return t;
        });
        loss = tf.scalar(sum[gradLength]!);
        correct = tf.scalar(sum[gradLength + 1]!);
      }

      // step: the same update on every rank.
      optimizer.applyGradients(vars.map((v, i) => ({ name: v.name, tensor: grads[i]! })));
      tf.dispose(grads);
      const nextLoss = tf.add(lossSum, loss!);
      const nextCorrect = tf.add(correctSum, correct!);
      tf.dispose([lossSum, correctSum, loss!, correct!]);
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
          loss: () => currentLoss.dataSync()[0]! / doneSteps,
        });
      }

      // A group of one never awaits inside an epoch: yield now and then so the process
      // still serves timers and I/O (abort signals, heartbeats, broker acks) while it trains.
      // A turn of the event loop costs ~0.1 ms: take one every YIELD_EVERY_MS, not every step.
      if (worldSize === 1 && performance.now() - lastYield > YIELD_EVERY_MS) {
        await new Promise<void>((resolve) => setImmediate(resolve));
        lastYield = performance.now();
      }
    }
    const trainSeconds = (performance.now() - epochStart) / 1000;
    const trainLoss = lossSum.dataSync()[0]! / steps;
    const trainAcc = correctSum.dataSync()[0]! / globalImages;
    tf.dispose([lossSum, correctSum]);

    // evaluate + record on rank 0; the others go on to the next epoch and wait in the all-reduce.
    if (rank === 0) {
      const test = evaluate(model, data.test, o.evalBatchSize);
      const record: EpochRecord = {
        epoch,
        trainLoss,
        trainAcc,
        testLoss: test.loss,
        testAcc: test.acc,
        seconds: (performance.now() - epochStart) / 1000,
        imagesPerSec: globalImages / trainSeconds,
        backend: o.backend,
      };
      records.push(record);
      await o.onEpoch?.(record, { step: globalStep });
    }
  }
  return records;
}
