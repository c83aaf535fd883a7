import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import type { BatchNormalization as TfjsBatchNormalization } from '@tensorflow/tfjs-layers/dist/layers/normalization';
import { batchNormTrain } from './batch-norm-op.js';

// tfjs-layers does not export its layer classes: this is the one batchNormalization() builds.
const TfjsBatchNormalizationClass = tfl.layers.batchNormalization({}).constructor as typeof TfjsBatchNormalization;

type LayerVariable = ReturnType<tfl.layers.Layer['addWeight']>;
/** The private state of tfjs-layers 4.22's BatchNormalization (the version this package pins). */
interface BatchNormState {
  axis: number;
  momentum: number;
  epsilon: number;
  center: boolean;
  scale: boolean;
  gamma: LayerVariable;
  beta: LayerVariable;
  movingMean: LayerVariable;
  movingVariance: LayerVariable;
}

/**
 * tfjs-layers' BatchNormalization — same arguments, weights, moving averages, inference
 * and saved topology (it serializes, and registers itself, as `BatchNormalization`, so
 * checkpoints load in any tfjs, and as this class where @mnist/models is imported) —
 * trained through `batchNormTrain`: one forward and one backward kernel where the
 * backend has them (channels last, with scale and offset).
 */
export class BatchNorm extends TfjsBatchNormalizationClass {
  static override className = 'BatchNormalization';

  override call(inputs: tf.Tensor | tf.Tensor[], kwargs: { training?: boolean }): tf.Tensor | tf.Tensor[] {
    const s = this as unknown as BatchNormState;
    const x = Array.isArray(inputs) ? inputs[0]! : inputs;
    const channelsLast = s.axis === -1 || s.axis === x.rank - 1;
    if (!kwargs.training || !channelsLast || !s.center || !s.scale) return super.call(inputs, kwargs);
    return tf.tidy(() => {
      const { y, mean, variance } = batchNormTrain(
        x,
        s.gamma.read() as tf.Tensor1D,
        s.beta.read() as tf.Tensor1D,
        s.epsilon,
      );
      // tfjs-layers' update, to the bit: moving -= (moving - batch) * (1 - momentum).
      for (const [moving, batch] of [
        [s.movingMean, mean],
        [s.movingVariance, variance],
      ] as const) {
        tf.tidy(() => {
          const old = moving.read();
          moving.write(tf.sub(old, tf.mul(tf.sub(old, batch), 1 - s.momentum)));
        });
      }
      return y;
    });
  }
}
tf.serialization.registerClass(BatchNorm);
