import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { getModel } from '@mnist/models';
import { registerConv2dBackpropFilter, setupWasmBackend } from './wasm.js';
import { CONV2D_BACKPROP_FILTER_IMPLS } from './wasm-conv2d-backprop-filter.js';

type Attrs = {
  strides: number | [number, number];
  pad: 'same' | 'valid' | number | [[number, number], [number, number], [number, number], [number, number]];
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
};

interface Case extends Attrs {
  name: string;
  x: [number, number, number, number];
  filter: [number, number, number, number];
}

const CASES: Case[] = [
  { name: 'LeNet C1 5x5 same', x: [64, 28, 28, 1], filter: [5, 5, 1, 6], strides: 1, pad: 'same' },
  { name: 'LeNet C3 5x5 valid', x: [64, 14, 14, 6], filter: [5, 5, 6, 16], strides: 1, pad: 'valid' },
  { name: 'LeNet C5 5x5 valid', x: [64, 5, 5, 16], filter: [5, 5, 16, 120], strides: 1, pad: 'valid' },
  { name: 'stride 2 valid', x: [4, 13, 13, 3], filter: [3, 3, 3, 4], strides: 2, pad: 'valid' },
  { name: 'stride 2 valid, last row unused', x: [4, 12, 12, 3], filter: [3, 3, 3, 4], strides: 2, pad: 'valid' },
  { name: 'stride 2 same', x: [3, 11, 11, 2], filter: [3, 3, 2, 5], strides: 2, pad: 'same' },
  { name: 'same, even kernel 4x4', x: [3, 9, 9, 2], filter: [4, 4, 2, 3], strides: 1, pad: 'same' },
  { name: 'same, even kernel 4x4, stride 2', x: [3, 10, 10, 2], filter: [4, 4, 2, 3], strides: 2, pad: 'same' },
  { name: 'batch 1', x: [1, 10, 10, 3], filter: [3, 3, 3, 5], strides: 1, pad: 'valid' },
  {
    name: 'non-square input and filter, strides [2,1]',
    x: [2, 11, 7, 3],
    filter: [3, 2, 3, 4],
    strides: [2, 1],
    pad: 'same',
  },
  { name: 'Cin>1, Cout>1, odd sizes', x: [5, 8, 8, 7], filter: [3, 3, 7, 9], strides: 1, pad: 'valid' },
  { name: 'explicit numeric pad 2', x: [2, 8, 8, 3], filter: [3, 3, 3, 4], strides: 1, pad: 2 },
  {
    name: 'explicit asymmetric pads',
    x: [2, 9, 8, 2],
    filter: [3, 3, 2, 3],
    strides: 2,
    pad: [
      [0, 0],
      [1, 2],
      [0, 1],
      [0, 0],
    ],
  },
  {
    name: 'numeric pad with dimRoundingMode ceil',
    x: [2, 8, 8, 2],
    filter: [3, 3, 2, 3],
    strides: 2,
    pad: 1,
    dimRoundingMode: 'ceil',
  },
];

/** mulberry32: the same inputs on both backends, every run. */
function uniform(n: number, seed: number, scale = 1): Float32Array {
  const out = new Float32Array(n);
  let a = seed >>> 0;
  for (let i = 0; i < n; i++) {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    out[i] = ((((t ^ (t >>> 14)) >>> 0) / 4294967296) * 2 - 1) * scale;
  }
  return out;
}

/** Largest |a-b| / max(1, |b|): absolute error for small values, relative for large ones. */
function maxError(actual: ArrayLike<number>, expected: ArrayLike<number>): number {
  expect(actual.length).toBe(expected.length);
  let worst = 0;
  for (let i = 0; i < expected.length; i++) {
    const e = expected[i]!;
    worst = Math.max(worst, Math.abs(actual[i]! - e) / Math.max(1, Math.abs(e)));
  }
  return worst;
}

async function on<T>(backend: string, fn: () => T | Promise<T>): Promise<T> {
  expect(await tf.setBackend(backend)).toBe(true);
  return fn();
}

function filterGradient(c: Case, xs: Float32Array, dys: Float32Array, dyShape: number[]): Float32Array {
  return tf.tidy(() => {
    const x = tf.tensor4d(xs, c.x);
    const dy = tf.tensor(dys, dyShape);
    const attrs = {
      strides: c.strides,
      pad: c.pad,
      dataFormat: 'NHWC',
      dimRoundingMode: c.dimRoundingMode,
      filterShape: c.filter,
    };
    const dw = tf.engine().runKernel(tf.Conv2DBackpropFilter, { x, dy }, attrs as never) as tf.Tensor;
    expect(dw.shape).toEqual(c.filter);
    return dw.dataSync() as Float32Array;
  });
}

// Read before any hook runs: importing ./wasm.js must not have loaded the backend.
const wasmRegisteredAtImport = tf.engine().registryFactory['wasm'] !== undefined;

beforeAll(async () => {
  const result = await setupWasmBackend();
  expect(result).toEqual({ ok: true, flavor: 'simd' });
});

describe('setupWasmBackend', () => {
  it('does nothing at import time', () => {
    expect(wasmRegisteredAtImport).toBe(false);
  });

  it('initialises wasm without selecting it, and is idempotent', async () => {
    const instance = tf.engine().registry['wasm'];
    expect(instance).toBeDefined();
    expect(tf.getBackend()).not.toBe('wasm');
    expect(await setupWasmBackend()).toEqual({ ok: true, flavor: 'simd' });
    expect(tf.engine().registry['wasm']).toBe(instance);
    expect(tf.getKernel(tf.Conv2DBackpropFilter, 'wasm')).toBeDefined();
  });
});

describe.each(CONV2D_BACKPROP_FILTER_IMPLS)('Conv2DBackpropFilter on wasm (%s)', (impl) => {
  beforeAll(() => registerConv2dBackpropFilter({ impl, replace: true }));

  it.each(CASES)(
    'matches the cpu backend: $name',
    async (c) => {
      const info = tf.backend_util.computeConv2DInfo(
        c.x,
        c.filter,
        c.strides,
        1,
        c.pad,
        c.dimRoundingMode,
        false,
        'channelsLast',
      );
      const xs = uniform(tf.util.sizeFromShape(c.x), 1);
      // dy scaled by 1/batch, as a mean loss's gradient is.
      const dys = uniform(tf.util.sizeFromShape(info.outShape), 2, 1 / c.x[0]);
      const expected = await on('cpu', () => filterGradient(c, xs, dys, info.outShape));
      const actual = await on('wasm', () => filterGradient(c, xs, dys, info.outShape));
      expect(maxError(actual, expected)).toBeLessThanOrEqual(1e-4);
    },
    60_000,
  );
});

describe('conv2d backward pass on wasm', () => {
  beforeAll(() => registerConv2dBackpropFilter({ replace: true }));

  it('rejects NCHW with a clear error', async () => {
    await on('wasm', () => {
      const x = tf.zeros([1, 4, 4, 2]);
      const dy = tf.zeros([1, 2, 2, 3]);
      const attrs = { strides: 1, pad: 'valid', dataFormat: 'NCHW', filterShape: [3, 3, 2, 3] };
      expect(() => tf.engine().runKernel(tf.Conv2DBackpropFilter, { x, dy }, attrs as never)).toThrow(
        /dataFormat 'NHWC' only, got 'NCHW'/,
      );
      tf.dispose([x, dy]);
    });
  });

  it('tf.grad of a conv2d loss agrees with cpu and with finite differences', async () => {
    const xs = uniform(2 * 9 * 9 * 3, 3);
    const ws = uniform(3 * 3 * 3 * 4, 4, 0.5);
    // loss = sum(conv2d(x, w)^2) / 2: quadratic, so central differences are exact up to rounding.
    const loss = (x: tf.Tensor, w: tf.Tensor) =>
      tf.div(tf.sum(tf.square(tf.conv2d(x as tf.Tensor4D, w as tf.Tensor4D, 2, 'same'))), 2);
    const grads = (backend: string) =>
      on(backend, () =>
        tf.tidy(() => {
          const x = tf.tensor4d(xs, [2, 9, 9, 3]);
          const w = tf.tensor4d(ws, [3, 3, 3, 4]);
          const [dx, dw] = tf.grads(loss)([x, w]);
          return { dx: dx!.dataSync() as Float32Array, dw: dw!.dataSync() as Float32Array };
        }),
      );
    const cpu = await grads('cpu');
    const wasm = await grads('wasm');
    expect(maxError(wasm.dw, cpu.dw)).toBeLessThanOrEqual(1e-4);
    expect(maxError(wasm.dx, cpu.dx)).toBeLessThanOrEqual(1e-4);

    const direction = uniform(ws.length, 5);
    const eps = 1e-2;
    const [plus, minus] = await on('wasm', () =>
      [eps, -eps].map((e) =>
        tf.tidy(() => {
          const w = tf.tensor4d(
            ws.map((v, i) => v + e * direction[i]!),
            [3, 3, 3, 4],
          );
          return loss(tf.tensor4d(xs, [2, 9, 9, 3]), w).dataSync()[0]!;
        }),
      ),
    );
    const numeric = (plus! - minus!) / (2 * eps);
    const analytic = wasm.dw.reduce((s, g, i) => s + g * direction[i]!, 0);
    expect(Math.abs(numeric - analytic) / Math.abs(analytic)).toBeLessThan(1e-3);
  }, 60_000);

  it('one momentum step of LeNet-5 gives the same weights on wasm as on cpu', async () => {
    const batch = 8;
    const images = uniform(batch * 28 * 28, 6);
    const labels = Array.from({ length: batch }, (_, i) => (i * 7) % 10);
    const step = (backend: string) =>
      on(backend, () => {
        const model = getModel('lenet5').build(1);
        const optimizer = tf.train.momentum(0.01, 0.9);
        const x = tf.tensor4d(images, [batch, 28, 28, 1]);
        const y = tf.oneHot(tf.tensor1d(labels, 'int32'), 10);
        // Two steps so that the momentum buffer takes part.
        for (let i = 0; i < 2; i++) {
          const { grads, value } = tf.variableGrads(
            () => tf.losses.softmaxCrossEntropy(y, model.apply(x, { training: true }) as tf.Tensor) as tf.Scalar,
          );
          optimizer.applyGradients(Object.entries(grads).map(([name, tensor]) => ({ name, tensor })));
          tf.dispose([value, ...Object.values(grads)]);
        }
        const weights = model.getWeights().map((w) => w.dataSync() as Float32Array);
        tf.dispose([x, y]);
        model.dispose();
        optimizer.dispose();
        return weights;
      });
    const initial = await on('cpu', () => {
      const model = getModel('lenet5').build(1);
      const weights = model.getWeights().map((w) => w.dataSync() as Float32Array);
      model.dispose();
      return weights;
    });
    const cpu = await step('cpu');
    const wasm = await step('wasm');
    expect(wasm).toHaveLength(cpu.length);
    // The step must have moved every weight tensor, or agreement would prove nothing.
    cpu.forEach((after, i) => expect(maxError(after, initial[i]!)).toBeGreaterThan(1e-4));
    cpu.forEach((expected, i) => expect(maxError(wasm[i]!, expected)).toBeLessThanOrEqual(1e-4));
  }, 60_000);
});
