import { describe, expect, it } from 'vitest';
import { MAX_SWEEP_JOBS, type SweepSummary } from '@mnist/protocol';
import { createApp } from '../app.js';
import { MemoryArtifacts, MemoryCluster } from '../testing/memory-deps.js';

const json = (body: unknown) => ({
  method: 'POST',
  headers: { 'Content-Type': 'application/json' },
  body: JSON.stringify(body),
});

function setup() {
  const cluster = new MemoryCluster();
  return { cluster, app: createApp({ cluster, artifacts: new MemoryArtifacts() }) };
}

describe('sweeps', () => {
  it('creates one job per grid point under one id; get, list, jobs', async () => {
    const { app } = setup();
    const res = await app.request(
      '/v1/sweeps',
      json({ models: ['lenet5', 'mlp'], seeds: 3, base: { epochs: 1, trainLimit: 256 } }),
    );
    expect(res.status).toBe(201);
    const sweep = (await res.json()) as SweepSummary;
    expect(res.headers.get('location')).toBe(`/v1/sweeps/${sweep.id}`);
    expect(sweep).toMatchObject({ state: 'queued', total: 6, counts: { queued: 6 } });
    expect(sweep.jobs.map((j) => `${j.spec.model}/${j.spec.seed}`)).toEqual([
      'lenet5/1',
      'lenet5/2',
      'lenet5/3',
      'mlp/1',
      'mlp/2',
      'mlp/3',
    ]);
    expect(sweep.jobs.every((j) => j.spec.sweepId === sweep.id && j.spec.epochs === 1)).toBe(true);

    expect(((await (await app.request(`/v1/sweeps/${sweep.id}`)).json()) as SweepSummary).total).toBe(6);
    const jobs = (await (await app.request(`/v1/sweeps/${sweep.id}/jobs`)).json()) as { jobs: unknown[] };
    expect(jobs.jobs).toHaveLength(6);
    const list = (await (await app.request('/v1/sweeps')).json()) as { sweeps: Array<Record<string, unknown>> };
    expect(list.sweeps).toEqual([expect.objectContaining({ id: sweep.id, total: 6, state: 'queued' })]);
    expect(list.sweeps[0]).not.toHaveProperty('jobs');
    expect((await app.request('/v1/sweeps/s-nope')).status).toBe(404);
    expect((await app.request('/v1/sweeps/..%2Fx')).status).toBe(404);
  });

  it('Idempotency-Key: a retry of a sweep cut short makes only its missing jobs; another grid is 409', async () => {
    const { app, cluster } = setup();
    const grid = { models: ['mlp'], seeds: 4, base: { epochs: 1, trainLimit: 256 } };
    const keyed = (body: unknown) => {
      const init = json(body);
      return { ...init, headers: { ...init.headers, 'Idempotency-Key': 'sweep-key-1' } };
    };
    // The first try dies after two of its four jobs (an API killed mid-grid).
    const submit = cluster.submit.bind(cluster);
    let calls = 0;
    cluster.submit = async (spec, o) => {
      if (++calls === 3) throw new Error('connection lost');
      return submit(spec, o);
    };
    expect((await app.request('/v1/sweeps', keyed(grid))).status).toBe(500);
    const retry = await app.request('/v1/sweeps', keyed(grid));
    expect(retry.status).toBe(201);
    const sweep = (await retry.json()) as SweepSummary;
    expect(sweep.jobs.map((j) => j.spec.seed)).toEqual([1, 2, 3, 4]);
    expect((await cluster.jobs.list()).filter((j) => j.spec.sweepId === sweep.id)).toHaveLength(4);
    expect((await cluster.jobs.list()).length).toBe(4);
    const again = (await (await app.request('/v1/sweeps', keyed(grid))).json()) as SweepSummary;
    expect(again.id).toBe(sweep.id);
    expect((await app.request('/v1/sweeps', keyed({ ...grid, seeds: 2 }))).status).toBe(409);
  });

  it('400 naming the limit for a grid that is too large, and nothing is submitted', async () => {
    const { app, cluster } = setup();
    const res = await app.request(
      '/v1/sweeps',
      json({ models: ['lenet5', 'mlp', 'lenet5-reg'], seeds: 20, batchSize: [32, 64] }),
    );
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual({
      error: 'invalid sweep',
      issues: [
        {
          path: '(grid)',
          message:
            '120 jobs (3 models x 20 seeds x 2 batch sizes) is over the limit of ' + `${MAX_SWEEP_JOBS} jobs per sweep`,
        },
      ],
    });
    const bad = await app.request('/v1/sweeps', json({ models: ['mlp'], seeds: 2, base: { epochs: 2, batchSize: 0 } }));
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { issues: Array<{ path: string }> }).issues[0]!.path).toBe('base.batchSize');
    expect(cluster.records.size).toBe(0);
  });

  it('cancel stops the jobs still queued or running and keeps the finished ones', async () => {
    const { app, cluster } = setup();
    const sweep = (await (await app.request('/v1/sweeps', json({ models: ['mlp'], seeds: 3 }))).json()) as SweepSummary;
    const [done] = sweep.jobs;
    cluster.put({ ...done!, state: 'succeeded' });
    const res = await app.request(`/v1/sweeps/${sweep.id}/cancel`, { method: 'POST' });
    expect(res.status).toBe(200);
    const after = (await res.json()) as SweepSummary;
    expect(after).toMatchObject({ state: 'partial', counts: { succeeded: 1, cancelled: 2 } });
    expect(cluster.records.get(sweep.jobs[1]!.id)!.message).toBe(`sweep ${sweep.id} cancelled`);
  });
});
