// Where a training step spends its time, per kernel, on one backend.
//
//   npx tsx bench/profile-step.ts [model=lenet5] [backend=onednn] [steps=20] [clock=cpu|wall]
//
// Every kernel of the backend is wrapped with a timer. The default clock is this
// process's CPU time (process.cpuUsage), which other processes on a shared machine
// barely disturb; run with OMP_NUM_THREADS=1 for per-kernel numbers that add up.
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { getModel } from '@mnist/models';
import { registerOnednnBackend } from '../src/index.js';

const [name = 'lenet5', backend = 'onednn', n = '20', clock = 'cpu'] = process.argv.slice(2);
const now =
  clock === 'wall'
    ? () => performance.now() * 1000
    : () => {
        const u = process.cpuUsage();
        return u.user + u.system;
      };

registerOnednnBackend();
const agg = new Map<string, { n: number; us: number }>();
let timing = false;
for (const config of tf.getKernelsForBackend(backend)) {
  const inner = config.kernelFunc;
  tf.unregisterKernel(config.kernelName, backend);
  tf.registerKernel({
    ...config,
    kernelFunc: (args) => {
      if (!timing) return inner(args);
      const t = now();
      const out = inner(args);
      const dt = now() - t;
      const shapes = Object.values(args.inputs)
        .map((i) => (i ? JSON.stringify(i.shape) : '-'))
        .join(' ');
      const key = `${config.kernelName} ${shapes}`;
      const e = agg.get(key) ?? { n: 0, us: 0 };
      e.n++;
      e.us += dt;
      agg.set(key, e);
      return out;
    },
  });
}
await tf.setBackend(backend);
const model = getModel(name).build(1);
const x = tf.randomNormal([64, 28, 28, 1]);
const y = tf.cast(tf.oneHot(tf.randomUniform([64], 0, 10, 'int32'), 10), 'float32');
const opt: tf.Optimizer = tf.train.momentum(0.01, 0.9);
const vars = model.trainableWeights.map((w) => (w as unknown as { val: tf.Variable }).val);
const step = () => {
  const { value, grads } = tf.variableGrads(
    () =>
      tf.tidy(() => {
        const logits = model.apply(x, { training: true }) as tf.Tensor;
        return tf.losses.softmaxCrossEntropy(y, logits) as tf.Scalar;
      }),
    vars,
  );
  opt.applyGradients(grads);
  value.dispose();
  tf.dispose(grads as unknown as tf.Tensor[]);
};
for (let i = 0; i < 100; i++) step();
const steps = Number(n);
let t0 = now();
for (let i = 0; i < steps; i++) step();
const plain = (now() - t0) / steps / 1000;
timing = true;
t0 = now();
for (let i = 0; i < steps; i++) step();
const timed = (now() - t0) / steps / 1000;
let total = 0,
  count = 0;
for (const e of agg.values()) {
  total += e.us;
  count += e.n;
}
console.log(
  `${clock} clock: step ${plain.toFixed(2)} ms (${timed.toFixed(2)} ms with timers); ` +
    `${count / steps} kernels/step take ${(total / steps / 1000).toFixed(2)} ms`,
);
for (const [k, e] of [...agg].sort((a, b) => b[1].us - a[1].us).slice(0, 45)) {
  console.log((e.us / steps / 1000).toFixed(3).padStart(8), String(e.n / steps).padStart(4), k);
}
