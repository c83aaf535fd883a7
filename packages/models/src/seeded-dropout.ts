import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { MAX_REPLICAS } from '@mnist/protocol';

export interface SeededDropoutArgs {
  rate: number;
  seed?: number;
  name?: string;
}

/**
 * Dropout whose mask is a function of (seed, step) instead of a hidden global RNG:
 * a resumed run draws the same masks as an uninterrupted one. The loop sets `step`
 * before each training step (see `setDropoutStep`); inference is the identity.
 */
export class SeededDropout extends tfl.layers.Layer {
  static readonly className = 'SeededDropout';
  readonly rate: number;
  readonly seed: number;
  step = 0;

  constructor(args: SeededDropoutArgs) {
    super({ name: args.name });
    this.rate = args.rate;
    this.seed = args.seed ?? 0;
    this.supportsMasking = true;
  }

  override call(inputs: tf.Tensor | tf.Tensor[], kwargs: { training?: boolean }): tf.Tensor {
    const x = Array.isArray(inputs) ? inputs[0]! : inputs;
    if (!kwargs.training || this.rate === 0) return x;
    // Large odd multiplier spreads consecutive steps across the seed space.
    const stepSeed = (this.seed + this.step * 2654435761) % 2 ** 31;
    return tf.dropout(x, this.rate, undefined, stepSeed);
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), rate: this.rate, seed: this.seed };
  }
}
tf.serialization.registerClass(SeededDropout);

/**
 * Points every SeededDropout of a model at a training step (and data-parallel rank). Each
 * step owns MAX_REPLICAS seeds, one per rank, so no two (step, rank) pairs share a mask.
 */
export function setDropoutStep(model: tfl.LayersModel, step: number, rank = 0): void {
  if (!Number.isInteger(rank) || rank < 0 || rank >= MAX_REPLICAS) {
    throw new RangeError(`dropout rank ${rank} is outside 0..${MAX_REPLICAS - 1} (MAX_REPLICAS)`);
  }
  for (const layer of model.layers) {
    if (layer instanceof SeededDropout) layer.step = step * MAX_REPLICAS + rank;
  }
}
