// `npm run bench`: training and evaluation images/s of the real training loop (runEpochs:
// batch gather, forward, backward, optimizer step, running metrics) per backend and model,
// and, with python3-torch installed, of the same recipe in PyTorch, in one invocation,
// with ours/PyTorch ratios. Prints one JSON object.
//
// Like for like: both sides run the same full epochs — the same images, in the same
// order (our loop's seeded permutation, handed to PyTorch in a file), in the same batches
// — and time training only. Epoch 1 warms up; the median of epochs 2+ is reported. Each
// model's PyTorch run follows ours directly, so both meet the same machine load.
//
//   npm run bench -- [--backends onednn,wasm,cpu] [--models lenet5,mlp,lenet5-reg]
//                    [--epochs 4] [--images N] [--short] [--no-torch]
//   npm run bench:torch     (PyTorch only: --torch-only)
//
// --short: 3 epochs of the first 12,800 training images (a quick look; same method).
// cpu (pure JS, ~10 images/s on conv nets) always runs 2 epochs of a few batches, and
// gets no PyTorch ratio: its epochs are not PyTorch's.
import { cpus, loadavg, tmpdir } from 'node:os';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import * as tf from '@tensorflow/tfjs-core';
import { epochPermutation, loadDataset, type Dataset, type Split } from '@mnist/data';
import { getModel } from '@mnist/models';
import { MODEL_NAMES, parseJobSpec, type ModelName } from '@mnist/protocol';
import { findTorchPython, runTorchBench, TORCH_MISSING, type TorchBenchResult } from '@mnist/torch-bench';
import { onednnDefaultedEnv } from '@mnist/tfjs-backend-onednn';
import { createOptimizer, evaluate, LocalCollective, runEpochs } from '../src/index.js';
import { selectBackend, type BackendChoice } from '@mnist/backends';

const { values } = parseArgs({
  options: {
    backends: { type: 'string', default: 'tensorflow,onednn,wasm,cpu' },
    models: { type: 'string', default: MODEL_NAMES.join(',') },
    epochs: { type: 'string' },
    images: { type: 'string' },
    short: { type: 'boolean', default: false },
    'no-torch': { type: 'boolean', default: false },
    'torch-only': { type: 'boolean', default: false },
  },
});
const backends = (values['torch-only'] ? [] : values.backends.split(',')) as Exclude<BackendChoice, 'auto'>[];
const models = values.models.split(',') as ModelName[];
for (const m of models)
  if (!MODEL_NAMES.includes(m)) throw new Error(`--models: unknown model ${m} (${MODEL_NAMES.join(', ')})`);
const count = (name: string, v: string | undefined, fallback: number, min: number) => {
  const n = v === undefined ? fallback : Number(v);
  if (!Number.isInteger(n) || n < min) throw new Error(`--${name} must be an integer >= ${min}, got ${v}`);
  return n;
};
const EPOCHS = count('epochs', values.epochs, values.short ? 3 : 4, 2);
const IMAGES = count('images', values.images, values.short ? 12_800 : 60_000, 64);
const METHOD =
  `epochs: ${EPOCHS} full epochs of the first ${IMAGES} training images, both sides in the same seeded order ` +
  'and batches of 64; training time only (no evaluation, no data loading); median of epochs 2+ (epoch 1 warms up)';
// Pure-JS cpu: a few batches, 2 epochs.
const CPU_IMAGES = (model: ModelName) => (model === 'mlp' ? 12_800 : 256);

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};
const take = (s: Split, n: number): Split => ({
  images: s.images.subarray(0, n * 784),
  labels: s.labels.subarray(0, n),
  count: Math.min(n, s.count),
});

async function benchModel(backend: string, model: ModelName, full: Dataset) {
  const n = backend === 'cpu' ? CPU_IMAGES(model) : IMAGES;
  const epochs = backend === 'cpu' ? 2 : EPOCHS;
  const spec = parseJobSpec({ model, epochs });
  const m = getModel(model).build(spec.seed);
  const data = { ...full, train: take(full.train, n), test: take(full.test, 64) };
  // CPU time over wall time of the warm epochs (from the first step of epoch 2).
  let warmStart: { cpu: NodeJS.CpuUsage; wall: number } | undefined;
  const records = await runEpochs({
    spec,
    data,
    model: m,
    optimizer: createOptimizer(spec.optimizer),
    collective: new LocalCollective(),
    backend,
    startEpoch: 1,
    startStep: 0,
    onStep: (p) => {
      if (p.epoch === 2 && p.step === 1) warmStart = { cpu: process.cpuUsage(), wall: performance.now() };
    },
  });
  const cpu = warmStart && process.cpuUsage(warmStart.cpu);
  const cpuPercent =
    warmStart && cpu ? Math.round((cpu.user + cpu.system) / 10 / (performance.now() - warmStart.wall)) : null;
  const evalSplit = backend === 'cpu' && model !== 'mlp' ? take(full.test, 500) : full.test;
  const t0 = performance.now();
  const test = evaluate(m, evalSplit);
  const evalSeconds = (performance.now() - t0) / 1000;
  m.dispose();
  return {
    trainImagesPerSec: Math.round(median(records.slice(1).map((r) => r.imagesPerSec))),
    trainImagesPerSecByEpoch: records.map((r) => Math.round(r.imagesPerSec)),
    trainCpuPercent: cpuPercent,
    evalImagesPerSec: Math.round(evalSplit.count / evalSeconds),
    trainImages: n,
    epochs,
    testAcc: Number(test.acc.toFixed(4)),
  };
}

/** The order our loop visits the first IMAGES training images in, epoch after epoch, as int32. */
function writeOrder(dir: string, seed: number): string {
  const order = new Int32Array(EPOCHS * IMAGES);
  for (let e = 1; e <= EPOCHS; e++) order.set(epochPermutation(IMAGES, seed, e), (e - 1) * IMAGES);
  const path = join(dir, `order-${seed}.i32`);
  writeFileSync(path, new Uint8Array(order.buffer));
  return path;
}

const python = values['no-torch'] ? null : findTorchPython();
const tmp = mkdtempSync(join(tmpdir(), 'mnist-bench-'));
function runTorch(model: ModelName): TorchBenchResult {
  if (!python) return { error: TORCH_MISSING };
  const order = writeOrder(tmp, parseJobSpec({ model, epochs: EPOCHS }).seed);
  return runTorchBench(
    python,
    ['--models', model, '--batches', order, '--epochs', String(EPOCHS), '--images', String(IMAGES)],
    onednnDefaultedEnv(),
  );
}

const full = await loadDataset({ name: 'mnist', dir: process.env.MNIST_DIR });
if (IMAGES > full.train.count) throw new Error(`--images: at most ${full.train.count}`);
type ModelResult = Awaited<ReturnType<typeof benchModel>>;
const results: Record<string, Record<string, ModelResult> | { unavailable: string }> = {};
const pytorch: Record<string, unknown> = {};
const ratios: Record<string, Record<string, { train: number; eval: number }>> = {};
const loadAtStart = loadavg()[0]!;
const selected: Record<string, string> = {};
try {
  for (const model of models) {
    for (const backend of backends) {
      if (results[backend] && 'unavailable' in results[backend]) continue;
      try {
        selected[backend] ??= (await selectBackend(backend)).name;
        await tf.setBackend(selected[backend]); // models alternate between backends
        const r = await benchModel(selected[backend], model, full);
        ((results[backend] ??= {}) as Record<string, ModelResult>)[model] = r;
        process.stderr.write(`bench: ${backend} ${model}: ${JSON.stringify(r)}\n`);
      } catch (err) {
        results[backend] = { unavailable: (err as Error).message };
      }
    }
    if (values['no-torch']) continue;
    const torch = runTorch(model);
    process.stderr.write(`bench: pytorch ${model}: ${JSON.stringify(torch)}\n`);
    if (!('models' in torch)) {
      pytorch[model] = torch;
      continue;
    }
    const t = torch.models[model]!;
    pytorch[model] = { ...t, torch: torch.torch, threads: torch.threads };
    for (const [backend, perModel] of Object.entries(results)) {
      const r = (perModel as Record<string, ModelResult>)[model];
      if (!r || backend === 'cpu') continue;
      (ratios[backend] ??= {})[model] = {
        train: +(r.trainImagesPerSec / t.trainImagesPerSec).toFixed(3),
        eval: +(r.evalImagesPerSec / t.evalImagesPerSec).toFixed(3),
      };
    }
  }
} finally {
  rmSync(tmp, { recursive: true, force: true });
}

console.log(
  JSON.stringify(
    {
      method: METHOD,
      machine: { cpus: cpus().length, model: cpus()[0]?.model ?? 'unknown', node: process.version },
      recipe: {
        batchSize: 64,
        optimizer: 'sgd lr 0.01 momentum 0.9',
        evaluation: 'the whole test set after training, batches of 1000',
      },
      // Other work on a shared machine skews every number; the 1-minute load says how much.
      loadAverage: { start: Number(loadAtStart.toFixed(2)), end: Number(loadavg()[0]!.toFixed(2)) },
      results,
      ...(values['no-torch'] ? {} : { pytorch, oursOverPytorch: ratios }),
    },
    null,
    2,
  ),
);
