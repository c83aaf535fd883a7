import { describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { MODEL_NAMES } from '@mnist/protocol';
import { MODELS, getModel, summarizeModel, UnknownModelError } from './index.js';

const layerParams = (name: string) =>
  Object.fromEntries(
    summarizeModel(name)
      .layers.filter((l) => l.params > 0)
      .map((l) => [l.name, l.params]),
  );

describe('model registry', () => {
  it('covers every public model name', () => {
    expect(Object.keys(MODELS).sort()).toEqual([...MODEL_NAMES].sort());
  });

  it('lenet5 has the seed parameter counts, layer by layer', () => {
    const s = summarizeModel('lenet5');
    expect(s.params).toBe(61_706);
    expect(s.trainableParams).toBe(61_706);
    expect(layerParams('lenet5')).toEqual({ C1: 156, C3: 2_416, C5: 48_120, F6: 10_164, OUTPUT: 850 });
    expect(s.layers.filter((l) => l.name === 'S2' || l.name === 'S4').map((l) => l.params)).toEqual([0, 0]);
  });

  it('mlp has 60,713 parameters: 54,950 / 3,905 / 1,568 / 290', () => {
    expect(summarizeModel('mlp').params).toBe(60_713);
    expect(layerParams('mlp')).toEqual({ FC1: 54_950, FC2: 3_905, FC3: 1_568, OUTPUT: 290 });
  });

  it('lenet5-reg adds batch norm after C1 and C3: 61,750 trainable', () => {
    const s = summarizeModel('lenet5-reg');
    expect(s.trainableParams).toBe(61_750);
    expect(s.params).toBe(MODELS['lenet5-reg'].expectedParams);
    expect(layerParams('lenet5-reg')).toMatchObject({ C1: 156, BN1: 24, C3: 2_416, BN3: 64 });
    const names = s.layers.map((l) => l.name);
    expect(names.indexOf('BN1')).toBe(names.indexOf('C1') + 1);
    expect(names.indexOf('dropout')).toBe(names.indexOf('F6') + 1);
  });

  it('every builder matches its expected counts and maps a batch to 10 logits', () => {
    for (const entry of Object.values(MODELS)) {
      const model = entry.build(3);
      expect(model.countParams()).toBe(entry.expectedParams);
      const y = tf.tidy(() => model.predict(tf.zeros([2, 28, 28, 1])) as tf.Tensor);
      expect(y.shape).toEqual([2, 10]);
      y.dispose();
      model.dispose();
    }
  });

  it('initialisation is seeded and PyTorch-like (weights within 1/sqrt(fan_in))', () => {
    const a = getModel('lenet5').build(5);
    const b = getModel('lenet5').build(5);
    const c = getModel('lenet5').build(6);
    const w = (m: typeof a, i: number) => m.getWeights()[i]!.dataSync();
    expect(Array.from(w(a, 0))).toEqual(Array.from(w(b, 0)));
    expect(Array.from(w(a, 0))).not.toEqual(Array.from(w(c, 0)));
    const c1 = w(a, 0);
    const bound = 1 / Math.sqrt(25);
    expect(Math.max(...Array.from(c1, Math.abs))).toBeLessThanOrEqual(bound);
    expect(Math.max(...Array.from(c1, Math.abs))).toBeGreaterThan(bound * 0.8);
    for (const m of [a, b, c]) m.dispose();
  });

  it('rejects an unknown model with the list of names', () => {
    expect(() => getModel('resnet')).toThrow(UnknownModelError);
    expect(() => getModel('resnet')).toThrow(/lenet5, mlp, lenet5-reg/);
  });
});
