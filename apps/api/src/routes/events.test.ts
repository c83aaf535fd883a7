import { describe, expect, it } from 'vitest';
import { parseJobSpec, type EpochRecord, type JobRecord } from '@mnist/protocol';
import { createApp } from '../app.js';
import { readSse, type SseMessage } from '@mnist/client';
import { MemoryArtifacts, MemoryCluster } from '../testing/memory-deps.js';

const record = (epoch: number): EpochRecord => ({
  epoch,
  trainLoss: 1 / epoch,
  trainAcc: 0.5,
  testLoss: 1 / epoch,
  testAcc: 0.6,
  seconds: 1,
  imagesPerSec: 100,
  backend: 'cpu',
});
const at = () => new Date().toISOString();

async function setup(keepAliveMs = 60_000) {
  const cluster = new MemoryCluster();
  const app = createApp({ cluster, artifacts: new MemoryArtifacts() }, { sseKeepAliveMs: keepAliveMs });
  const job = await cluster.submit(parseJobSpec({ model: 'mlp', epochs: 2 }));
  const update = (patch: Partial<JobRecord>) =>
    cluster.put({ ...cluster.records.get(job.id)!, ...patch, updatedAt: at() });
  return { app, cluster, job, update };
}

async function collect(res: Response, max = Infinity): Promise<SseMessage[]> {
  const out: SseMessage[] = [];
  for await (const m of readSse(res.body!)) {
    out.push(m);
    if (out.length >= max) break;
  }
  return out;
}

describe('GET /v1/jobs/:id/events', () => {
  it('streams status, progress and epoch events in order, sequence as id; ends after the final status', async () => {
    const { app, cluster, job, update } = await setup();
    const res = await app.request(`/v1/jobs/${job.id}/events`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/event-stream');
    const done = collect(res);
    update({ state: 'running', attempt: 1 });
    cluster.emit({
      type: 'progress',
      jobId: job.id,
      epoch: 1,
      step: 4,
      steps: 8,
      imagesPerSec: 200,
      loss: 2.1,
      at: at(),
    });
    cluster.emit({ type: 'epoch', jobId: job.id, record: record(1), at: at() });
    cluster.emit({ type: 'epoch', jobId: 'j-someone-else', record: record(9), at: at() });
    cluster.emit({ type: 'epoch', jobId: job.id, record: record(2), at: at() });
    update({ state: 'succeeded' });
    const events = await done;
    expect(events.map((e) => [e.id, e.event])).toEqual([
      ['1', 'status'],
      ['2', 'status'],
      ['3', 'progress'],
      ['4', 'epoch'],
      ['6', 'epoch'],
      ['7', 'status'],
    ]);
    expect(JSON.parse(events[5]!.data)).toMatchObject({ type: 'status', state: 'succeeded', jobId: job.id });
    expect(cluster.following).toBe(0);
  });

  it('resumes after Last-Event-ID; tells a client that has everything of a finished job to stop (204)', async () => {
    const { app, cluster, job, update } = await setup();
    update({ state: 'running', attempt: 1 });
    cluster.emit({ type: 'epoch', jobId: job.id, record: record(1), at: at() });
    update({ state: 'succeeded' });
    const all = await collect(await app.request(`/v1/jobs/${job.id}/events`));
    expect(all.map((e) => e.id)).toEqual(['1', '2', '3', '4']);
    const rest = await collect(await app.request(`/v1/jobs/${job.id}/events`, { headers: { 'Last-Event-ID': '2' } }));
    expect(rest.map((e) => e.id)).toEqual(['3', '4']);
    const none = await app.request(`/v1/jobs/${job.id}/events`, { headers: { 'Last-Event-ID': '4' } });
    expect(none.status).toBe(204);
    const bad = await app.request(`/v1/jobs/${job.id}/events`, { headers: { 'Last-Event-ID': 'abc' } });
    expect(bad.status).toBe(400);
  });

  it("ends with the record's status when the final status event was lost", async () => {
    const { app, cluster, job, update } = await setup(50);
    update({ state: 'running', attempt: 1 });
    const res = await app.request(`/v1/jobs/${job.id}/events`);
    const done = collect(res);
    cluster.publishStatus = false;
    update({ state: 'failed', message: 'out of trainers' });
    const events = await done;
    expect(events.map((e) => e.event)).toEqual(['status', 'status', 'status']);
    expect(events[2]!.id).toBeUndefined();
    expect(JSON.parse(events[2]!.data)).toMatchObject({ state: 'failed', message: 'out of trainers' });
    // Connecting afterwards: the replay is bounded by the last event that exists.
    const later = await collect(await app.request(`/v1/jobs/${job.id}/events`, { headers: { 'Last-Event-ID': '1' } }));
    expect(later.map((e) => [e.id, JSON.parse(e.data).state])).toEqual([
      ['2', 'running'],
      [undefined, 'failed'],
    ]);
  });

  it('stops following when the client goes away', async () => {
    const { app, cluster, job } = await setup();
    const res = await app.request(`/v1/jobs/${job.id}/events`);
    const first = await collect(res, 1); // reads one event, then cancels the body
    expect(first).toHaveLength(1);
    await new Promise((r) => setTimeout(r, 20));
    expect(cluster.following).toBe(0);
  });

  it('HEAD answers the headers without following (no consumer left behind)', async () => {
    const { app, cluster, job } = await setup();
    for (let i = 0; i < 20; i++) {
      const res = await app.request(`/v1/jobs/${job.id}/events`, { method: 'HEAD' });
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toBe('text/event-stream');
      expect(res.body).toBeNull();
    }
    expect((await app.request('/v1/jobs/j-nope/events', { method: 'HEAD' })).status).toBe(404);
    await new Promise((r) => setTimeout(r, 20));
    expect(cluster.following).toBe(0);
  });

  it('releases a stream whose client stopped reading without closing it', async () => {
    const { app, cluster, job, update } = await setup(50);
    const res = await app.request(`/v1/jobs/${job.id}/events`);
    expect(res.status).toBe(200);
    // Nobody reads the body: events pile up until a write waits for good.
    for (let i = 0; i < 5; i++) await update({ state: 'running', attempt: 1, message: `m${i}` });
    await new Promise((r) => setTimeout(r, 400));
    expect(cluster.following).toBe(0);
  });
});
