import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { batchNormTrain } from './batch-norm-op.js';

export interface BatchNormArgs {
  name?: string;
  momentum?: number;
  epsilon?: number;
}

type LayerVariable = ReturnType<tfl.layers.Layer['addWeight']>;
type Initializer = ReturnType<typeof tfl.initializers.ones>;

/**
 * Batch normalisation over the last axis, the same layer as tfjs-layers'
 * `batchNormalization({ axis: -1 })` — the same weights (gamma, beta, moving_mean,
 * moving_variance, in that order and with those names), the same moving averages and
 * inference — but trained through `batchNormTrain`: one forward and one backward kernel
 * where the backend has them.
 */
export class BatchNorm extends tfl.layers.Layer {
  static readonly className = 'BatchNorm';
  readonly momentum: number;
  readonly epsilon: number;
  private gamma?: LayerVariable;
  private beta?: LayerVariable;
  private movingMean?: LayerVariable;
  private movingVariance?: LayerVariable;

  constructor(args: BatchNormArgs = {}) {
    super({ name: args.name });
    this.momentum = args.momentum ?? 0.99;
    this.epsilon = args.epsilon ?? 1e-3;
    this.supportsMasking = true;
  }

  override build(inputShape: tfl.Shape | tfl.Shape[]): void {
    const shape = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as tfl.Shape;
    const channels = shape[shape.length - 1];
    if (channels == null) throw new Error(`${this.name}: the channel axis (last) must have a known size`);
    const add = (name: string, init: Initializer, trainable: boolean) =>
      this.addWeight(name, [channels], 'float32', init, undefined, trainable);
    this.gamma = add('gamma', tfl.initializers.ones(), true);
    this.beta = add('beta', tfl.initializers.zeros(), true);
    this.movingMean = add('moving_mean', tfl.initializers.zeros(), false);
    this.movingVariance = add('moving_variance', tfl.initializers.ones(), false);
    this.built = true;
  }

  override call(inputs: tf.Tensor | tf.Tensor[], kwargs: { training?: boolean }): tf.Tensor {
    return tf.tidy(() => {
      const x = Array.isArray(inputs) ? inputs[0]! : inputs;
      const gamma = this.gamma!.read() as tf.Tensor1D;
      const beta = this.beta!.read() as tf.Tensor1D;
      if (!kwargs.training) {
        return tf.batchNorm(x, this.movingMean!.read(), this.movingVariance!.read(), beta, gamma, this.epsilon);
      }
      const { y, mean, variance } = batchNormTrain(x, gamma, beta, this.epsilon);
      // tfjs-layers' update, to the bit: moving -= (moving - batch) * (1 - momentum).
      for (const [moving, batch] of [[this.movingMean!, mean], [this.movingVariance!, variance]] as const) {
        tf.tidy(() => {
          const old = moving.read();
          moving.write(tf.sub(old, tf.mul(tf.sub(old, batch), 1 - this.momentum)));
        });
      }
      return y;
    });
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), momentum: this.momentum, epsilon: this.epsilon };
  }
}
tf.serialization.registerClass(BatchNorm);
