import { availableParallelism, cpus } from 'node:os';
import { expandSweep, sweepSize, type JobRecord, type SweepRequest } from '@mnist/protocol';
import { startTestCluster } from '../test/harness.js';

/**
 * `npm run bench:sweep`: how a sweep of independent jobs scales with the fleet. The same
 * 6-job grid runs on 1 and then on 2 trainer processes, each pinned
 * to one thread (TFJS_ONEDNN_THREADS=single, OMP_NUM_THREADS=1) and, unless
 * BENCH_PIN_CPUS=0, trainer i to CPU i (taskset), and the bench prints
 * jobs per minute for both as one JSON object. The jobs are the sweep's own specs
 * (expandSweep, what POST /v1/sweeps submits) handed to the same work queue.
 *
 * Wall time runs from the first submit to the last job's end. Before it, one warm-up job
 * per trainer loads the dataset and the backend's kernels, which a long-lived fleet has
 * done already.
 */
const BASE = {
  epochs: Number(process.env.BENCH_EPOCHS ?? 2),
  // Big enough that training, not queueing and start-up, fills the wall time (4,096 images
  // made jobs of under a second, where per-job overhead hid the scaling).
  trainLimit: Number(process.env.BENCH_TRAIN_LIMIT ?? 16384),
  testLimit: 2000,
  batchSize: 64,
};
// Six jobs of equal cost (one model, 3 seeds x 2 learning rates): with unequal jobs, six of
// them measure the tail of the schedule (which trainer is left with the last long job) more
// than the fleet's throughput. 2 models x 3 seeds gave 1.76x in one run, 4 jobs on t1, 2 on t2.
const REQUEST: SweepRequest = { models: ['lenet5'], seeds: 3, lr: [0.01, 0.05], base: BASE };
const PINNED = { TFJS_ONEDNN_THREADS: 'single', OMP_NUM_THREADS: '1' };
// Trainer i on CPU i (taskset); BENCH_PIN_CPUS=0 leaves placement to the scheduler.
const PIN_CPUS = process.env.BENCH_PIN_CPUS !== '0';

async function run(
  trainers: number,
): Promise<{ seconds: number; jobsPerMinute: number; byTrainer: Record<string, number>; backend: string }> {
  const cluster = await startTestCluster({ trainers, env: PINNED, pinCpus: PIN_CPUS });
  try {
    const warm = await Promise.all(
      Array.from({ length: trainers }, (_, i) =>
        cluster.submit({ model: 'lenet5', epochs: 1, trainLimit: 512, testLimit: 256, seed: 100 + i }),
      ),
    );
    await Promise.all(warm.map((j) => cluster.waitForFinal(j.id, 300_000)));
    await cluster.waitForIdleTrainers(trainers, 30_000);

    const specs = expandSweep(REQUEST, `s-bench-${trainers}`);
    const t0 = performance.now();
    const jobs = await Promise.all(specs.map((s) => cluster.client.submit(s)));
    const finals: JobRecord[] = await Promise.all(jobs.map((j) => cluster.waitForFinal(j.id, 1_800_000)));
    const seconds = (performance.now() - t0) / 1000;
    const failed = finals.filter((f) => f.state !== 'succeeded');
    if (failed.length)
      throw new Error(
        `${failed.length} jobs did not succeed: ` +
          failed.map((f) => `${f.id} ${f.state} ${f.message ?? ''}`).join('; '),
      );
    const byTrainer: Record<string, number> = {};
    for (const f of finals) for (const t of f.trainers) byTrainer[t] = (byTrainer[t] ?? 0) + 1;
    process.stderr.write(`${trainers} trainer(s): ${specs.length} jobs in ${seconds.toFixed(1)} s\n`);
    return {
      seconds: Number(seconds.toFixed(2)),
      jobsPerMinute: Number(((specs.length * 60) / seconds).toFixed(2)),
      byTrainer,
      backend: finals[0]?.backend ?? '',
    };
  } finally {
    await cluster.stop();
  }
}

async function main(): Promise<void> {
  const one = await run(1);
  const two = await run(2);
  const out = {
    bench: 'sweep',
    machine: {
      cpus: availableParallelism(),
      cpuModel: cpus()[0]?.model ?? 'unknown',
      backend: two.backend || one.backend,
    },
    sweep: { ...REQUEST, jobs: sweepSize(REQUEST) },
    trainerEnv: PINNED,
    pinCpus: PIN_CPUS,
    trainers1: one,
    trainers2: two,
    ratio: Number((two.jobsPerMinute / one.jobsPerMinute).toFixed(3)),
  };
  process.stdout.write(JSON.stringify(out, null, 2) + '\n');
}

main().catch((err: unknown) => {
  process.stderr.write(`bench:sweep: ${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
