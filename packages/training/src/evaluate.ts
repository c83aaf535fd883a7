import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { IMAGE_SHAPE, IMAGE_SIZE, shardRange, type Split } from '@mnist/data';
import type { Collective } from './collective.js';
import { countCorrect, crossEntropy } from './loss.js';

export interface EvalSums {
  lossSum: number;
  correct: number;
  count: number;
}

/**
 * Examples [from, to) of a split in batches, in inference mode, with the loss and correct
 * sums kept on the device. A generator so that callers choose whether to yield to the
 * event loop between batches. With `predictions` (one slot per example of the split) it
 * also fills in each example's arg-max class from the same forward pass.
 */
function* evalBatches(
  model: tfl.LayersModel,
  split: Split,
  from: number,
  to: number,
  batchSize: number,
  predictions?: Int32Array,
): Generator<void, EvalSums> {
  let lossSum = tf.scalar(0);
  let correct = tf.scalar(0);
  try {
    for (let start = from; start < to; start += batchSize) {
      const n = Math.min(batchSize, to - start);
      const [nextLoss, nextCorrect, classes] = tf.tidy(() => {
        // slice(): the cpu backend keeps the array it is given; never hand it a view of the dataset.
        const x = tf.tensor4d(split.images.slice(start * IMAGE_SIZE, (start + n) * IMAGE_SIZE), [n, ...IMAGE_SHAPE]);
        const y = tf.tensor1d(split.labels.slice(start, start + n), 'int32');
        const logits = model.apply(x, { training: false }) as tf.Tensor2D;
        const out = [tf.add(lossSum, crossEntropy(logits, y, 1)), tf.add(correct, countCorrect(logits, y))];
        return predictions ? [...out, tf.argMax(logits, 1)] : out;
      });
      tf.dispose([lossSum, correct]);
      lossSum = nextLoss as tf.Scalar;
      correct = nextCorrect as tf.Scalar;
      if (classes) {
        predictions!.set(classes.dataSync() as Int32Array, start); // a sync per batch, only when asked
        classes.dispose();
      }
      yield;
    }
    // One read-back for the whole pass: the only sync point of evaluation.
    return { lossSum: lossSum.dataSync()[0]!, correct: correct.dataSync()[0]!, count: to - from };
  } finally {
    tf.dispose([lossSum, correct]);
  }
}

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
  const pass = evalBatches(model, split, 0, split.count, batchSize, predictions);
  let r = pass.next();
  while (!r.done) r = pass.next();
  return { loss: r.value.lossSum / split.count, acc: r.value.correct / split.count };
}

/**
 * The same numbers computed by all ranks together: each evaluates its contiguous share of
 * the split, yielding to the event loop between batches (heartbeats and acks go on), and
 * the sums are all-reduced, so every rank gets the result.
 */
export async function evaluateSharded(
  model: tfl.LayersModel,
  split: Split,
  collective: Collective,
  batchSize = 1000,
): Promise<{ loss: number; acc: number }> {
  const { start, end } = shardRange(split.count, collective.rank, collective.worldSize);
  const pass = evalBatches(model, split, start, end, batchSize);
  let r = pass.next();
  while (!r.done) {
    await new Promise<void>((resolve) => setImmediate(resolve));
    r = pass.next();
  }
  const [lossSum, correct] = await collective.allReduceSum(Float32Array.of(r.value.lossSum, r.value.correct));
  return { loss: lossSum! / split.count, acc: correct! / split.count };
}
