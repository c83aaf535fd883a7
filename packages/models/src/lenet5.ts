import * as tfl from '@tensorflow/tfjs-layers';
import { torchStyleInit } from './init.js';
import { SeededDropout } from './seeded-dropout.js';
import { BatchNorm } from './batch-norm.js';
import { FusedConv2D } from './conv2d.js';

export interface LeNetOptions {
  seed: number;
  /** Batch norm after C1 and C3 (before ReLU, which comes after the pool) and dropout 0.5 after F6. */
  regularized: boolean;
}

/**
 * LeNet-5 as the seed counts it: C1 6@5x5 'same', S2 max-pool, C3 16@5x5 (each map sees
 * all six S2 maps), S4 max-pool, C5 120@5x5 (acts as fully connected), F6 84, output 10 logits.
 * Regularized: batch norm after C1 and C3, then the pool, then ReLU; dropout after F6.
 */
export function buildLeNet5({ seed, regularized }: LeNetOptions): tfl.Sequential {
  const model = tfl.sequential({ name: regularized ? 'lenet5-reg' : 'lenet5' });
  const conv = (name: string, filters: number, index: number, fanIn: number, extra: object) =>
    new FusedConv2D({ name, filters, kernelSize: 5, ...torchStyleInit(seed, index, fanIn), ...extra });
  // With batch norm the ReLU comes after the normalisation, so the conv itself is linear.
  // It is applied after the max-pool: max and ReLU commute (ReLU is monotonic and both
  // only select values), so outputs and gradients are the same to the bit, on a quarter
  // of the elements.
  const convActivation = regularized ? 'linear' : 'relu';
  // The stage after conv n: its pool, and in lenet5-reg batch norm before it and ReLU after.
  const pool = (n: number, name: string) => {
    if (regularized) model.add(new BatchNorm({ name: `BN${n}`, axis: -1, momentum: 0.9, epsilon: 1e-5 }));
    model.add(tfl.layers.maxPooling2d({ name, poolSize: 2, strides: 2 }));
    if (regularized) model.add(tfl.layers.activation({ name: `ReLU${n}`, activation: 'relu' }));
  };

  model.add(conv('C1', 6, 1, 25, { inputShape: [28, 28, 1], padding: 'same', activation: convActivation }));
  pool(1, 'S2');
  model.add(conv('C3', 16, 3, 6 * 25, { padding: 'valid', activation: convActivation }));
  pool(3, 'S4');
  model.add(conv('C5', 120, 5, 16 * 25, { padding: 'valid', activation: 'relu' }));
  model.add(tfl.layers.flatten({ name: 'flatten' }));
  model.add(tfl.layers.dense({ name: 'F6', units: 84, activation: 'relu', ...torchStyleInit(seed, 6, 120) }));
  if (regularized) model.add(new SeededDropout({ name: 'dropout', rate: 0.5, seed }));
  model.add(tfl.layers.dense({ name: 'OUTPUT', units: 10, ...torchStyleInit(seed, 7, 84) }));
  return model;
}
