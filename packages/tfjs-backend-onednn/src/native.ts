import { createRequire } from 'node:module';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';

/** The addon's functions (native/*.cc). Arrays are the tensors' own buffers. */
export interface NativeAddon {
  /** oneDNN's version, or 'portable'. */
  version(): string;
  /** Whose convolution and matrix-product kernels this build runs. */
  kernels(): KernelPath;
  cpuRuntime(): string;
  getThreads(): number;
  setThreads(n: number): number;
  /** 0: pick one thread or all per loop and shape (default); 1: always one; 2: always all. */
  forceThreads(mode: 0 | 1 | 2): void;
  /** Diagnostic: the average time (us) and sample count of both paths, per loop and shape. */
  threadChoices(): Array<{ site: string; key: number[]; single: [number, number]; all: [number, number] }>;
  conv2d(
    x: Float32Array,
    filter: Float32Array,
    bias: Float32Array | null,
    y: Float32Array,
    dims: Int32Array,
    activation: number,
    alpha: number,
  ): void;
  conv2dBackpropInput(dy: Float32Array, filter: Float32Array, dx: Float32Array, dims: Int32Array): void;
  conv2dBackpropFilter(x: Float32Array, dy: Float32Array, dw: Float32Array, dims: Int32Array): void;
  /** oneDNN's implementation name for a conv of these dims (kind 0 fwd, 1 bwd data, 2 bwd weights). */
  convImpl(dims: Int32Array, kind: 0 | 1 | 2): string;
  maxPool(x: Float32Array, y: Float32Array, dims: Int32Array): void;
  maxPoolGrad(dy: Float32Array, x: Float32Array, dx: Float32Array, dims: Int32Array): void;
  avgPool(x: Float32Array, y: Float32Array, dims: Int32Array): void;
  matMul(
    a: Float32Array,
    b: Float32Array,
    c: Float32Array,
    dims: Int32Array,
    bias: Float32Array | null,
    activation: number,
    alpha: number,
  ): void;
  unary(op: number, x: Float32Array, y: Float32Array, alpha: number): void;
  /** shapes: [rank a, rank b, rank y, ...a dims, ...b dims, ...y dims] */
  binary(op: number, a: Float32Array, b: Float32Array, y: Float32Array, shapes: Int32Array): void;
  addN(y: Float32Array, ...xs: Float32Array[]): void;
  /** newAccum = m * accum + grad; newValue = c * newAccum + value (tfjs's momentum step). */
  momentumUpdate(
    value: Float32Array,
    accum: Float32Array,
    grad: Float32Array,
    newValue: Float32Array,
    newAccum: Float32Array,
    c: number,
    m: number,
  ): void;
  /** dims: [rank, ...x shape, ...reps] */
  tile(x: Float32Array, y: Float32Array, dims: Int32Array): void;
  reduce(op: number, x: Float32Array, outer: number, reduce: number, inner: number, y: Float32Array): void;
  softmax(x: Float32Array, y: Float32Array, rows: number, cols: number, log: boolean): void;
  /** sums[c] = sum(dy), sums[C + c] = sum(dy * (x - mean[c])) over every row of C channels. */
  batchNormGradSums(dy: Float32Array, x: Float32Array, mean: Float32Array, sums: Float32Array): void;
  /**
   * Batch norm with the batch's statistics over rows of C = scale.length channels:
   * stats = [mean; variance (biased)], y = (x - mean) * scale / sqrt(variance + eps) + offset.
   */
  batchNormTrain(
    x: Float32Array,
    scale: Float32Array,
    offset: Float32Array,
    y: Float32Array,
    stats: Float32Array,
    epsilon: number,
  ): void;
  /** Its gradient through the statistics: dx, and dparams = [dscale; doffset]. */
  batchNormTrainGrad(
    dy: Float32Array,
    x: Float32Array,
    stats: Float32Array,
    scale: Float32Array,
    dx: Float32Array,
    dparams: Float32Array,
    epsilon: number,
  ): void;
  batchNorm(
    x: Float32Array,
    mean: Float32Array,
    variance: Float32Array,
    offset: Float32Array | null,
    scale: Float32Array | null,
    y: Float32Array,
    epsilon: number,
  ): void;
}

/**
 * One Int32Array for the integer parameters of every call (shapes, strides, pads). A
 * fresh small typed array per call would cost more than many kernels: N-API has to move
 * its contents off the V8 heap before native code may see it.
 */
const params = new Int32Array(64);

export function packParams(values: ArrayLike<number>, offset = 0): Int32Array {
  params.set(values, offset);
  return params;
}

export type KernelPath = 'onednn' | 'portable';

/** A loaded addon says which build it is and why that one was taken. */
export type LoadResult = { ok: true; addon: NativeAddon; path: string; why: string } | { ok: false; reason: string };

/** Op codes shared with native/*.cc (keep in sync with the enums there). */
export const Act = { linear: 0, relu: 1, relu6: 2, leakyrelu: 3, elu: 4, sigmoid: 5 } as const;
export const UnaryOp = {
  relu: 0,
  relu6: 1,
  step: 2,
  exp: 3,
  log: 4,
  neg: 5,
  sqrt: 6,
  rsqrt: 7,
  square: 8,
  abs: 9,
  sigmoid: 10,
  tanh: 11,
  reciprocal: 12,
  leakyRelu: 13,
  elu: 14,
  log1p: 15,
  floor: 16,
  ceil: 17,
} as const;
export const BinaryOp = {
  add: 0,
  sub: 1,
  mul: 2,
  div: 3,
  max: 4,
  min: 5,
  squaredDifference: 6,
  pow: 7,
  reluGrad: 8,
} as const;
export const ReduceOp = { sum: 0, max: 1, min: 2, mean: 3, prod: 4 } as const;

const packageRoot = join(dirname(fileURLToPath(import.meta.url)), '..');
/** Where `npm run build` (scripts/build.mjs) puts the two builds, and its notes on failures. */
export const ADDON_PATHS: Record<KernelPath, string> = {
  onednn: join(packageRoot, 'build', 'Release', 'tfjs_onednn.node'),
  portable: join(packageRoot, 'build', 'Release', 'tfjs_portable.node'),
};
export const BUILD_NOTE_PATH = join(packageRoot, 'build', 'unavailable.txt');
export const ONEDNN_NOTE_PATH = join(packageRoot, 'build', 'onednn-unavailable.txt');

const note = (path: string) => (existsSync(path) ? readFileSync(path, 'utf8').trim() : '');

/** Loads one addon file; never throws. */
export function loadAddon(path: string, why: string, notePath: string = BUILD_NOTE_PATH): LoadResult {
  if (!existsSync(path)) {
    const reason = note(notePath);
    return {
      ok: false,
      reason: reason
        ? `the native addon was not built: ${reason}`
        : `the native addon was not built (no ${path}); run \`npm run build -w @mnist/tfjs-backend-onednn\``,
    };
  }
  try {
    applyThreadingDefaults();
    const require = createRequire(import.meta.url);
    const addon = require(path) as NativeAddon;
    // TFJS_ONEDNN_THREADS=single|all pins the per-loop thread choice (measurements).
    const mode = { single: 1, all: 2 }[process.env.TFJS_ONEDNN_THREADS ?? ''] as 1 | 2 | undefined;
    if (mode) addon.forceThreads(mode);
    return { ok: true, addon, path, why };
  } catch (err) {
    return { ok: false, reason: `could not load ${path}: ${(err as Error).message}` };
  }
}

/**
 * The fastest build that works here: $TFJS_ONEDNN_ADDON if set; the portable build if
 * TFJS_ONEDNN_PORTABLE=1; else the oneDNN build, and the portable one when that was
 * not built or does not load (a missing or broken libdnnl). `why` says which and why.
 */
export function loadBestAddon(
  env: NodeJS.ProcessEnv = process.env,
  paths: Record<KernelPath, string> = ADDON_PATHS,
): LoadResult {
  if (env.TFJS_ONEDNN_ADDON) return loadAddon(env.TFJS_ONEDNN_ADDON, 'TFJS_ONEDNN_ADDON');
  if (env.TFJS_ONEDNN_PORTABLE === '1') return loadAddon(paths.portable, 'portable kernels: TFJS_ONEDNN_PORTABLE=1');
  const onednn = loadAddon(paths.onednn, 'oneDNN kernels (the fastest build here)', ONEDNN_NOTE_PATH);
  if (onednn.ok) return onednn;
  const portable = loadAddon(paths.portable, `portable kernels: the oneDNN build is unavailable (${onednn.reason})`);
  return portable.ok ? portable : { ok: false, reason: `${portable.reason}; oneDNN build: ${onednn.reason}` };
}

/** Environment variables this module set (for tools that spawn other OpenMP programs). */
export const defaultedEnv: string[] = [];

/**
 * OpenMP (libgomp) reads its settings once, when the addon loads it. Its default lets an
 * idle worker spin for a long while before sleeping, which is ruinous on a machine whose
 * cores are busy with other work (a LeNet-5 step went from ~10 ms to ~150 ms); fully
 * passive waiting makes every parallel region wake a sleeping worker, which on a VM
 * costs more than the work (the team then never pays). A bounded spin keeps the worker
 * awake between the kernels of a step and lets it sleep between steps' bursts of
 * JavaScript; the addon's TeamPolicy drops to one thread when the team is slower (a busy
 * machine). A user's own OMP_WAIT_POLICY / GOMP_SPINCOUNT win.
 */
export const DEFAULT_SPINCOUNT = '100000';

function applyThreadingDefaults(): void {
  if (process.env.OMP_WAIT_POLICY === undefined && process.env.GOMP_SPINCOUNT === undefined) {
    process.env.GOMP_SPINCOUNT = DEFAULT_SPINCOUNT;
    defaultedEnv.push('GOMP_SPINCOUNT');
  }
}

let cached: LoadResult | undefined;

/** The addon, loaded on first call and remembered (a failure is remembered too). */
export function native(): LoadResult {
  cached ??= process.env.TFJS_ONEDNN_DISABLE
    ? { ok: false, reason: 'disabled by TFJS_ONEDNN_DISABLE' }
    : loadBestAddon();
  return cached;
}
