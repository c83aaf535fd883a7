import { createHash } from 'node:crypto';
import type * as tfl from '@tensorflow/tfjs-layers';
import type { Split } from '@mnist/data';
import type { FinalEval } from '@mnist/protocol';
import { evaluate } from '@mnist/training';

/**
 * What the final model does on the test split: loss, accuracy and a digest of every
 * prediction. Written next to the checkpoints so anyone can check that the model they
 * load back from S3 is the one that was trained.
 */
export function finalEval(model: tfl.LayersModel, test: Split, epoch: number, backend: string): FinalEval {
  const classes = new Int32Array(test.count);
  const { loss, acc } = evaluate(model, test, undefined, classes);
  const predictionsSha256 = createHash('sha256').update(new Uint8Array(classes.buffer)).digest('hex');
  return { epoch, testCount: test.count, testLoss: loss, testAcc: acc, predictionsSha256, backend };
}
