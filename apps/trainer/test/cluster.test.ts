import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jetstreamManager } from '@nats-io/jetstream';
import { getModel } from '@mnist/models';
import { loadDataset } from '@mnist/data';
import { artifactKeys, CLUSTER_ARTIFACTS, FinalEvalSchema, NATS_NAMES, type JobRecord } from '@mnist/protocol';
import { getJson } from '@mnist/storage';
import { selectBackend } from '@mnist/backends';
import { finalEval } from '../src/final-eval.js';
import { startTestCluster, type TestCluster } from './harness.js';
import { loadCheckpointModel, maxWeightDiff } from './model-check.js';

// Same seed and subset for every job of a pair: only the number of replicas differs.
const SUBSET = { trainLimit: 768, testLimit: 256, batchSize: 64, epochs: 2, seed: 7 } as const;

let cluster: TestCluster;
beforeAll(async () => {
  await selectBackend('auto'); // the test process loads checkpoints and predicts with them
  cluster = await startTestCluster({ trainers: 3 });
});
afterAll(async () => {
  await cluster?.stop();
});

/**
 * When `trainer` ran a rank of `jobId`, from its logs: from `rank.started` to the rank's end
 * (`rank.finished` of a peer, `job.trained` of a coordinator). A peer is free again before its
 * coordinator writes the job's end (final evaluation, report), so the records' times would not do.
 */
function rankSpan(trainer: string, jobId: string): [number, number] {
  const at = (events: string[]) =>
    cluster
      .logs((l) => l.trainer === trainer && l.jobId === jobId && events.includes(l.event))
      .map((l) => Date.parse(String(l.time)));
  return [Math.min(...at(['rank.started'])), Math.max(...at(['rank.finished', 'job.trained']))];
}

describe('data-parallel training on real trainer processes', () => {
  it('1 and 2 replicas reach the same weights, and the S3 checkpoint predicts what the trainer predicted', async () => {
    const jobs: { model: 'mlp' | 'lenet5'; replicas: number; record: JobRecord }[] = [];
    for (const model of ['mlp', 'lenet5'] as const) {
      // lenet5's pair moves its gradients over direct TCP (the default), mlp's through NATS.
      const transport = model === 'mlp' ? 'nats' : 'auto';
      for (const replicas of [1, 2])
        jobs.push({ model, replicas, record: await cluster.submit({ ...SUBSET, model, replicas, transport }) });
    }
    const finals = await Promise.all(jobs.map((j) => cluster.waitForFinal(j.record.id, 150_000)));
    for (const [i, f] of finals.entries()) {
      expect(f.state, `${jobs[i]!.model} x${jobs[i]!.replicas}: ${f.message}`).toBe('succeeded');
      expect(f.trainers).toHaveLength(jobs[i]!.replicas);
      expect(new Set(f.trainers).size).toBe(jobs[i]!.replicas);
      expect(f.epoch).toBe(SUBSET.epochs);
    }
    for (const [model, expected] of [
      ['lenet5', 'tcp'],
      ['mlp', 'nats'],
    ] as const) {
      const pair = jobs.find((j) => j.model === model && j.replicas === 2)!.record.id;
      const ready = cluster.logs((l) => l.event === 'data_plane.ready' && l.jobId === pair);
      expect(ready.map((l) => [l.rank, l.transport]).sort(), `${model}: both ranks over ${expected}`).toEqual([
        [0, expected],
        [1, expected],
      ]);
    }
    const data = await loadDataset({ name: 'mnist', trainLimit: SUBSET.trainLimit, testLimit: SUBSET.testLimit });

    for (const model of ['mlp', 'lenet5'] as const) {
      const [one, two] = [1, 2].map((n) => jobs.find((j) => j.model === model && j.replicas === n)!.record.id) as [
        string,
        string,
      ];
      const [m1, m2] = await Promise.all(
        [one, two].map((id) => loadCheckpointModel(cluster.jobStore(id), SUBSET.epochs)),
      );
      const init = getModel(model).build(SUBSET.seed);
      // The all-reduce is right: same trajectory up to float rounding, while training moved the weights far.
      const diff = maxWeightDiff(m1!, m2!);
      if (process.env.SHOW_DIFFS)
        console.log(model, 'max |w1 - w2| =', diff, 'max |w1 - w0| =', maxWeightDiff(m1!, init));
      expect(diff, `${model}: 1 vs 2 replicas`).toBeLessThan(2e-5);
      expect(maxWeightDiff(m1!, init), `${model}: training moved the weights`).toBeGreaterThan(100 * diff + 1e-3);

      for (const id of [one, two]) {
        const store = cluster.jobStore(id);
        const keys = await store.list();
        for (const k of [
          artifactKeys.spec,
          artifactKeys.metrics,
          artifactKeys.report,
          artifactKeys.curvesPng,
          CLUSTER_ARTIFACTS.finalEval,
        ])
          expect(keys).toContain(k);
        expect(keys).toContain(`${artifactKeys.checkpoint(1)}checkpoint.json`);
        expect(keys).toContain(`${artifactKeys.checkpoint(2)}weights.bin`);
        expect(await cluster.epochsInMetrics(id)).toEqual([1, 2]);
        // The model loaded back from S3 predicts exactly what the trainer's in-memory model did.
        const written = FinalEvalSchema.parse(await getJson(store, CLUSTER_ARTIFACTS.finalEval));
        const reloaded = finalEval(id === one ? m1! : m2!, data.test, SUBSET.epochs, written.backend);
        expect(reloaded.predictionsSha256).toBe(written.predictionsSha256);
        expect(reloaded.testAcc).toBe(written.testAcc);
        expect(reloaded.testLoss).toBeCloseTo(written.testLoss, 6);
      }
      [m1, m2, init].forEach((m) => m!.dispose());
    }
  });
});

describe('scheduling', () => {
  it('an oversized job waits visibly and blocks nobody; two jobs run at once on disjoint trainers', async () => {
    const big = await cluster.submit({ ...SUBSET, model: 'mlp', replicas: 4 });
    // More than the fleet has: parked off the work queue, with the reason.
    const waiting = await cluster.waitForJob(big.id, (r) => r.state === 'parked', 30_000);
    expect(waiting.message).toBe('needs 4 trainers, 3 live');

    const pair = await cluster.submit({ ...SUBSET, model: 'lenet5', epochs: 3, replicas: 2 });
    const single = await cluster.submit({ ...SUBSET, model: 'mlp', epochs: 3, replicas: 1 });
    const flexible = await cluster.submit({ ...SUBSET, model: 'mlp', epochs: 1, replicas: 4, minReplicas: 2 });
    const [p, s, f] = await Promise.all([pair, single, flexible].map((j) => cluster.waitForFinal(j.id, 120_000)));
    expect([p!.state, s!.state, f!.state]).toEqual(['succeeded', 'succeeded', 'succeeded']);
    expect(f!.trainers.length).toBeGreaterThanOrEqual(2);
    expect(f!.trainers.length).toBeLessThanOrEqual(3);
    // A trainer in both ran one rank after the other.
    for (const t of p!.trainers.filter((x) => s!.trainers.includes(x))) {
      const [a, b] = [rankSpan(t, p!.id), rankSpan(t, s!.id)];
      expect(a[1] < b[0] || b[1] < a[0], `${t} ran ranks of both jobs at once`).toBe(true);
    }

    // The oversized job is still waiting, holding no trainer.
    expect((await cluster.client.jobs.get(big.id))?.state).toBe('parked');
    await cluster.client.jobs.cancel(big.id);
    await cluster.waitForIdleTrainers(3);
  });

  it('six jobs that each need the whole fleet, queued at once: every one forms its group in turn', async () => {
    // Each trainer takes one of them and finds the others busy coordinating theirs: unless a
    // trainer stands aside after a job went back, no group ever forms (the chaos run's livelock).
    const jobs = await Promise.all(
      Array.from({ length: 6 }, (_, i) => cluster.submit({ ...SUBSET, model: 'mlp', epochs: 1, replicas: 3, seed: i })),
    );
    const finals = await Promise.all(jobs.map((j) => cluster.waitForFinal(j.id, 120_000)));
    expect(finals.map((f) => f.state)).toEqual(Array(6).fill('succeeded'));
    expect(finals.every((f) => f.trainers.length === 3)).toBe(true);
    await cluster.waitForIdleTrainers(3);
  });

  it('cancel stops every rank of a running 2-replica job within a step or two', async () => {
    const job = await cluster.submit({ ...SUBSET, model: 'lenet5', trainLimit: 2048, epochs: 30, replicas: 2 });
    const running = await cluster.waitForJob(job.id, (r) => r.state === 'running' && r.epoch >= 1, 60_000);
    await cluster.client.jobs.cancel(job.id, 'test cancel');
    const trainers = running.trainers.map((id) => cluster.trainers.get(id)!);
    const [halted, stopped] = await Promise.all([
      Promise.all(trainers.map((t) => t.waitFor((l) => l.event === 'rank.halted' && l.jobId === job.id, 30_000))),
      Promise.all(
        trainers.map((t) =>
          t.waitFor((l) => (l.event === 'rank.stopped' || l.event === 'job.stopped') && l.jobId === job.id, 30_000),
        ),
      ),
    ]);
    // Counted in steps, not seconds: a loaded machine slows the steps, not the promise.
    for (const l of halted) expect(l.stepsAfterStop as number).toBeLessThanOrEqual(2);
    for (const l of stopped) expect(l.kind).toBe('cancelled');
    const final = await cluster.client.jobs.get(job.id);
    expect(final).toMatchObject({ state: 'cancelled', message: 'test cancel' });
    expect(final!.epoch).toBeLessThan(30);
    // The trainers are free again and the task is gone from the work queue.
    await cluster.waitForIdleTrainers(3);
    // (The oversized job cancelled above may still sit out its nak delay: allow for it.)
    const jsm = await jetstreamManager(cluster.nc);
    const deadline = Date.now() + 30_000;
    while ((await jsm.streams.info(NATS_NAMES.tasksStream)).state.messages > 0 && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 250));
    expect((await jsm.streams.info(NATS_NAMES.tasksStream)).state.messages).toBe(0);
  });
});
