// `npm run bench`: images/s of the real training loop (runEpochs: batch gather, forward,
// backward, optimizer step, running metrics) and of evaluation, per backend and model,
// after a warm-up epoch. With python3-torch installed, the same recipe in PyTorch runs in
// the same invocation and the JSON carries ours/PyTorch ratios. Prints one JSON object.
//
//   npm run bench -- [--backends onednn,wasm,cpu] [--models lenet5,mlp,lenet5-reg]
//                    [--images N] [--no-torch]
//   npm run bench:torch     (PyTorch only: --torch-only)
import { cpus, loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { loadDataset, type Dataset, type Split } from '@mnist/data';
import { getModel } from '@mnist/models';
import { MODEL_NAMES, parseJobSpec, type ModelName } from '@mnist/protocol';
import { findTorchPython, runTorchBench, TORCH_MISSING, type TorchBenchResult } from '@mnist/tfjs-backend-onednn/torch-bench';
import { createOptimizer, evaluate, LocalCollective, runEpochs } from '../src/index.js';
import { selectBackend, type BackendChoice } from '@mnist/backends';

const { values } = parseArgs({
  options: {
    backends: { type: 'string', default: 'tensorflow,onednn,wasm,cpu' },
    models: { type: 'string', default: MODEL_NAMES.join(',') },
    images: { type: 'string' },
    'no-torch': { type: 'boolean', default: false },
    'torch-only': { type: 'boolean', default: false },
  },
});
const backends = (values['torch-only'] ? [] : values.backends.split(',')) as Exclude<BackendChoice, 'auto'>[];
const models = values.models.split(',') as ModelName[];
// Images per epoch: full MNIST epochs where that takes seconds, as the study runs them
// (adaptive thread choices and caches settle over a run); fewer on the slow backends.
// Pure-JS cpu trains conv nets at ~10 images/s: a few batches only.
function imagesFor(backend: string, model: ModelName): number {
  if (values.images !== undefined) return Number(values.images);
  if (backend === 'cpu') return model === 'mlp' ? 12_800 : 256;
  return backend === 'wasm' ? 12_800 : 60_000;
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};
const take = (s: Split, n: number): Split => ({ images: s.images.subarray(0, n * 784), labels: s.labels.subarray(0, n), count: Math.min(n, s.count) });

async function benchModel(backend: string, model: ModelName, full: Dataset) {
  const n = imagesFor(backend, model);
  // Epoch 1 warms up (primitive caches, JIT, thread choices); later epochs are measured and
  // their median reported, since this shared machine's speed moves between epochs.
  const epochs = backend === 'cpu' ? 2 : 3;
  const spec = parseJobSpec({ model, epochs });
  const m = getModel(model).build(spec.seed);
  const data = { ...full, train: take(full.train, n), test: take(full.test, 64) };
  const records = await runEpochs({
    spec, data, model: m, optimizer: createOptimizer(spec.optimizer), collective: new LocalCollective(),
    backend, startEpoch: 1, startStep: 0,
  });
  const evalSplit = backend === 'cpu' && model !== 'mlp' ? take(full.test, 500) : full.test;
  const t0 = performance.now();
  const test = evaluate(m, evalSplit);
  const evalSeconds = (performance.now() - t0) / 1000;
  m.dispose();
  return {
    trainImagesPerSec: Math.round(median(records.slice(1).map((r) => r.imagesPerSec))),
    trainImagesPerSecByEpoch: records.map((r) => Math.round(r.imagesPerSec)),
    evalImagesPerSec: Math.round(evalSplit.count / evalSeconds),
    trainImages: n,
    testAcc: Number(test.acc.toFixed(4)),
  };
}

function runTorch(): TorchBenchResult {
  const python = findTorchPython();
  return python ? runTorchBench(python, ['--models', models.join(',')]) : { error: TORCH_MISSING };
}

const full = await loadDataset({ name: 'mnist', dir: process.env.MNIST_DIR });
const results: Record<string, unknown> = {};
const available: Record<string, Record<string, Awaited<ReturnType<typeof benchModel>>>> = {};
const loadAtStart = loadavg()[0]!;
for (const backend of backends) {
  try {
    const selected = await selectBackend(backend);
    const perModel: Record<string, Awaited<ReturnType<typeof benchModel>>> = {};
    for (const model of models) {
      perModel[model] = await benchModel(selected.name, model, full);
      process.stderr.write(`bench: ${backend} ${model}: ${JSON.stringify(perModel[model])}\n`);
    }
    results[backend] = available[backend] = perModel;
  } catch (err) {
    results[backend] = { unavailable: (err as Error).message };
  }
}

const out: Record<string, unknown> = {
  machine: { cpus: cpus().length, model: cpus()[0]?.model ?? 'unknown', node: process.version },
  recipe: { batchSize: 64, optimizer: 'sgd lr 0.01 momentum 0.9', measured: 'training: median over epochs 2+ of runEpochs (epoch 1 warms up); evaluation: the test set after training' },
  // Other work on a shared machine skews every number; the 1-minute load says how much.
  loadAverage: { start: Number(loadAtStart.toFixed(2)) },
  results,
};
if (!values['no-torch']) {
  const torch = runTorch();
  out.pytorch = torch;
  if ('models' in torch) {
    const ratios: Record<string, Record<string, { train: number; eval: number }>> = {};
    for (const [backend, perModel] of Object.entries(available)) {
      ratios[backend] = {};
      for (const [model, r] of Object.entries(perModel)) {
        const t = torch.models[model];
        if (t) ratios[backend][model] = { train: +(r.trainImagesPerSec / t.trainImagesPerSec).toFixed(3), eval: +(r.evalImagesPerSec / t.evalImagesPerSec).toFixed(3) };
      }
    }
    out.oursOverPytorch = ratios;
  }
}
(out.loadAverage as Record<string, number>).end = Number(loadavg()[0]!.toFixed(2));
console.log(JSON.stringify(out, null, 2));
