// Test helpers: run the same computation on the cpu and onednn backends and compare.
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
// tfjs-core 4 does not register op gradients itself; the tfjs-layers bundle does (as the
// union @tensorflow/tfjs package would), and the models use it anyway.
import '@tensorflow/tfjs-layers';
import { beforeAll, describe, expect } from 'vitest';
import { ONEDNN_BACKEND_NAME, onednnAvailability, registerOnednnBackend } from '../src/index.js';
import {
  countKernelPaths,
  MIN_NATIVE_SIZE,
  stopCountingKernelPaths,
  type KernelPathCount,
} from '../src/kernels/util.js';

const availability = onednnAvailability();
if (!availability.available) {
  // Once per test file, so the reason shows in every report, not only in suite titles.
  console.warn(`onednn backend unavailable, its tests are skipped: ${availability.reason}`);
}

/**
 * `describe` for suites that need the addon: when it is unavailable the suite is skipped
 * and its title says why, so the reason shows up in the test report.
 */
export function describeOnednn(title: string, body: () => void): void {
  if (availability.available) {
    describe(title, () => {
      beforeAll(() => {
        registerOnednnBackend();
      });
      body();
    });
  } else {
    describe.skip(`${title} [skipped: onednn unavailable: ${availability.reason}]`, body);
  }
}

/** Deterministic pseudo-random floats in [lo, hi) (mulberry32). */
export function randomArray(n: number, seed: number, lo = -1, hi = 1): Float32Array {
  let s = seed >>> 0;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    out[i] = lo + (hi - lo) * (((t ^ (t >>> 14)) >>> 0) / 4294967296);
  }
  return out;
}

export interface Spec {
  shape: number[];
  lo?: number;
  hi?: number;
}

export type Result = Float32Array | Int32Array | Uint8Array;

/**
 * Runs `f` on each backend with fresh tensors made from the same random data (one per
 * spec) and returns every output's values, per backend.
 */
export async function onBackends(
  specs: Spec[],
  f: (...xs: tf.Tensor[]) => tf.Tensor | tf.Tensor[],
  seed = 1,
): Promise<Record<'cpu' | 'onednn', Result[]>> {
  registerOnednnBackend();
  const data = specs.map((s, i) =>
    randomArray(
      s.shape.reduce((a, b) => a * b, 1),
      seed * 1000 + i,
      s.lo,
      s.hi,
    ),
  );
  const run = async (backend: string): Promise<Result[]> => {
    await tf.setBackend(backend);
    const outs = tf.tidy(() => {
      const xs = specs.map((s, i) => tf.tensor(data[i]!, s.shape));
      const r = f(...xs);
      return Array.isArray(r) ? r : [r];
    });
    // Copy: the arrays belong to the backend's tensors, which are disposed next.
    const values = outs.map((t) => t.dataSync().slice());
    tf.dispose(outs);
    return values;
  };
  const cpu = await run('cpu');
  kernelCounts = countKernelPaths();
  const onednn = await run(ONEDNN_BACKEND_NAME).finally(stopCountingKernelPaths);
  return { cpu, onednn };
}

/** Which path each kernel took in the last onBackends() run, on the onednn backend only. */
export let kernelCounts: ReadonlyMap<string, KernelPathCount> = new Map();

/**
 * Asserts that, in the last onBackends() run, each kernel ran natively and fell back to
 * cpu only for tiny inputs (which it does by design).
 */
export function expectNative(kernelNames: string[]): void {
  for (const name of kernelNames) {
    const c = kernelCounts.get(name);
    expect(c?.native ?? 0, `${name} native runs`).toBeGreaterThan(0);
    expect(c?.largestFallback ?? 0, `${name}: largest input left to cpu`).toBeLessThan(MIN_NATIVE_SIZE);
  }
}

/** |actual - expected| <= rtol * |expected| + atol * max|expected| + floor, element by element. */
export function expectClose(actual: Result, expected: Result, rtol = 1e-4, atol = 1e-5, label = '', floor = 0): void {
  expect(actual.length, `${label} length`).toBe(expected.length);
  let scale = 0;
  for (const v of expected) if (Number.isFinite(v)) scale = Math.max(scale, Math.abs(v));
  let worst = 0,
    worstAt = -1;
  for (let i = 0; i < expected.length; i++) {
    const e = expected[i]!,
      a = actual[i]!;
    if ((Number.isNaN(e) && Number.isNaN(a)) || e === a) continue;
    const excess = Math.abs(a - e) - (rtol * Math.abs(e) + atol * scale + floor);
    if (!(excess <= 0) && (worstAt < 0 || excess > worst || Number.isNaN(excess))) {
      worst = excess;
      worstAt = i;
    }
  }
  if (worstAt >= 0) {
    expect.fail(
      `${label} differs at ${worstAt}: onednn ${actual[worstAt]} vs cpu ${expected[worstAt]} (scale ${scale})`,
    );
  }
}

export interface CompareOptions {
  rtol?: number;
  atol?: number;
  seed?: number;
  label?: string;
  /** Kernels that must have run natively (no cpu fallback) on onednn. */
  native?: string[];
}

/** Compares every output of `f` between the two backends. */
export async function expectSameOnBoth(
  specs: Spec[],
  f: (...xs: tf.Tensor[]) => tf.Tensor | tf.Tensor[],
  opts: CompareOptions = {},
): Promise<void> {
  const { cpu, onednn } = await onBackends(specs, f, opts.seed ?? 1);
  expect(onednn.length).toBe(cpu.length);
  cpu.forEach((expected, i) =>
    expectClose(onednn[i]!, expected, opts.rtol, opts.atol, `${opts.label ?? ''} output ${i}`),
  );
  if (opts.native) expectNative(opts.native);
}

/**
 * Compares f's output and its gradients with respect to every input. The gradient is
 * taken of sum(f(xs) * w) for a fixed random w, so every output element matters.
 */
export async function expectSameGradients(
  specs: Spec[],
  f: (...xs: tf.Tensor[]) => tf.Tensor,
  opts: CompareOptions = {},
): Promise<void> {
  await expectSameOnBoth(
    specs,
    (...xs) => {
      const y = f(...xs);
      const w = tf.tensor(randomArray(y.size, 777), y.shape);
      const g = tf.grads((...args: tf.Tensor[]) => tf.sum(tf.mul(f(...args), w)));
      return [y, ...g(xs)];
    },
    opts,
  );
}
