/**
 * Micro-benchmark of the wasm backend's Conv2DBackpropFilter and of LeNet-5 training steps
 * on wasm vs cpu. Prints one JSON object.
 *
 *   npm run bench:wasm -w @mnist/backends
 */
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { getModel } from '@mnist/models';
import { registerConv2dBackpropFilter, setupWasmBackend } from '../src/wasm.js';
import { CONV2D_BACKPROP_FILTER_IMPLS } from '../src/wasm-conv2d-backprop-filter.js';

const BATCH = 64; // the seed recipe's batch size
const KERNEL_MIN_MS = 500; // time each kernel for at least this long, after warm-up
const STEP_MIN_MS = 3000; // likewise for training steps (cpu: a few steps at ~4 s each)

/** The filter gradients of LeNet-5's three convolutions at batch 64. */
const LENET_CONVS = {
  c1: { x: [BATCH, 28, 28, 1], filterShape: [5, 5, 1, 6], pad: 'same' },
  c3: { x: [BATCH, 14, 14, 6], filterShape: [5, 5, 6, 16], pad: 'valid' },
  c5: { x: [BATCH, 5, 5, 16], filterShape: [5, 5, 16, 120], pad: 'valid' },
} as const;

/** Mean ms per call of fn, after two warm-up calls. */
function msPerCall(fn: () => void, minMs: number): number {
  fn();
  fn();
  let calls = 0;
  const start = performance.now();
  while (performance.now() - start < minMs || calls < 3) {
    fn();
    calls++;
  }
  return (performance.now() - start) / calls;
}

const round = (v: number, digits = 2) => Number(v.toFixed(digits));

function kernelTimings(): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [name, c] of Object.entries(LENET_CONVS)) {
    const info = tf.backend_util.computeConv2DInfo(
      [...c.x],
      [...c.filterShape],
      1,
      1,
      c.pad,
      undefined,
      false,
      'channelsLast',
    );
    const x = tf.randomUniform([...c.x], -1, 1);
    const dy = tf.randomUniform(info.outShape, -1, 1);
    const attrs = { strides: 1, pad: c.pad, dataFormat: 'NHWC', filterShape: [...c.filterShape] };
    out[name] = round(
      msPerCall(() => {
        // wasm kernels run synchronously: when runKernel returns, the work is done.
        (tf.engine().runKernel(tf.Conv2DBackpropFilter, { x, dy }, attrs as never) as tf.Tensor).dispose();
      }, KERNEL_MIN_MS),
    );
    tf.dispose([x, dy]);
  }
  return out;
}

/** LeNet-5 training: variableGrads of mean softmax cross-entropy, then a momentum step. */
function trainingImagesPerSec(): number {
  const model = getModel('lenet5').build(1);
  const optimizer = tf.train.momentum(0.01, 0.9);
  const x = tf.randomUniform([BATCH, 28, 28, 1], -0.5, 2.8);
  const y = tf.oneHot(tf.randomUniform([BATCH], 0, 10, 'int32'), 10);
  const ms = msPerCall(() => {
    const { value, grads } = tf.variableGrads(
      () => tf.losses.softmaxCrossEntropy(y, model.apply(x, { training: true }) as tf.Tensor) as tf.Scalar,
    );
    optimizer.applyGradients(Object.entries(grads).map(([name, tensor]) => ({ name, tensor })));
    value.dataSync(); // a read-back: makes sure the step has finished on any backend
    tf.dispose([value, ...Object.values(grads)]);
  }, STEP_MIN_MS);
  tf.dispose([x, y]);
  optimizer.dispose();
  model.dispose();
  return round((BATCH * 1000) / ms, 1);
}

async function main(): Promise<void> {
  tf.enableProdMode();
  const wasm = await setupWasmBackend();
  if (!wasm.ok) throw new Error(wasm.reason);

  const kernelMsPerCall: Record<string, Record<string, number>> = {};
  const imagesPerSec: Record<string, number> = {};
  for (const impl of CONV2D_BACKPROP_FILTER_IMPLS) {
    registerConv2dBackpropFilter({ impl, replace: true });
    await tf.setBackend('wasm');
    kernelMsPerCall[impl] = kernelTimings();
    imagesPerSec[`wasm (${impl} Conv2DBackpropFilter)`] = trainingImagesPerSec();
  }
  await tf.setBackend('cpu');
  imagesPerSec['cpu'] = trainingImagesPerSec();

  console.log(
    JSON.stringify(
      {
        node: process.version,
        wasmFlavor: wasm.flavor,
        batch: BATCH,
        conv2dBackpropFilterMsPerCall: kernelMsPerCall,
        lenet5TrainImagesPerSec: imagesPerSec,
      },
      null,
      2,
    ),
  );
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
