import '@tensorflow/tfjs-backend-cpu';
import * as tfl from '@tensorflow/tfjs-layers';
import { describe, expect, it } from 'vitest';
import { MAX_REPLICAS } from '@mnist/protocol';
import { SeededDropout, setDropoutStep } from './seeded-dropout.js';

describe('setDropoutStep', () => {
  const model = tfl.sequential({
    layers: [tfl.layers.dense({ units: 2, inputShape: [2] }), new SeededDropout({ rate: 0.5, seed: 3 })],
  });
  const dropout = model.layers[1] as SeededDropout;

  it('gives every (step, rank) pair its own seed slot, MAX_REPLICAS per step', () => {
    setDropoutStep(model, 5, MAX_REPLICAS - 1);
    const last = dropout.step;
    setDropoutStep(model, 6, 0);
    expect(dropout.step).toBe(last + 1);
    expect(dropout.step).toBe(6 * MAX_REPLICAS);
  });

  it('refuses a rank past the replica bound, which would reuse the next step seeds', () => {
    expect(() => setDropoutStep(model, 1, MAX_REPLICAS)).toThrow(RangeError);
    expect(() => setDropoutStep(model, 1, -1)).toThrow(/outside 0\.\.63/);
  });
});
