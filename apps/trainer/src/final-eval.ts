import { createHash } from 'node:crypto';
import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import type { Split } from '@mnist/data';
import type { FinalEval } from '@mnist/protocol';
import { evaluate } from '@mnist/training';

const PIXELS = 28 * 28;

/** The arg-max class the model (inference mode) predicts for every image of a split. */
export function predictClasses(model: tfl.LayersModel, split: Split, batchSize = 1000): Int32Array {
  const out = new Int32Array(split.count);
  for (let from = 0; from < split.count; from += batchSize) {
    const n = Math.min(batchSize, split.count - from);
    const classes = tf.tidy(() => {
      const x = tf.tensor4d(split.images.slice(from * PIXELS, (from + n) * PIXELS), [n, 28, 28, 1]);
      return tf.argMax(model.apply(x, { training: false }) as tf.Tensor2D, 1);
    });
    out.set(classes.dataSync() as Int32Array, from);
    classes.dispose();
  }
  return out;
}

/**
 * What the final model does on the test split: loss, accuracy and a digest of every
 * prediction. Written next to the checkpoints so anyone can check that the model they
 * load back from S3 is the one that was trained.
 */
export function finalEval(model: tfl.LayersModel, test: Split, epoch: number, backend: string): FinalEval {
  const { loss, acc } = evaluate(model, test);
  const classes = predictClasses(model, test);
  const predictionsSha256 = createHash('sha256').update(new Uint8Array(classes.buffer)).digest('hex');
  return { epoch, testCount: test.count, testLoss: loss, testAcc: acc, predictionsSha256, backend };
}
