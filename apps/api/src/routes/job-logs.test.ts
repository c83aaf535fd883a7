import { describe, expect, it } from 'vitest';
import { readSse } from '@mnist/client';
import type { JobRecord, LogLine } from '@mnist/protocol';
import { createApp } from '../app.js';
import { MemoryArtifacts, MemoryCluster } from '../testing/memory-deps.js';

async function setup() {
  const cluster = new MemoryCluster();
  cluster.trainerList = [
    { id: 't1', host: 'h', pid: 1, backend: 'cpu', state: 'idle', startedAt: 'x', lastSeen: new Date().toISOString() },
  ];
  const app = createApp({ cluster, artifacts: new MemoryArtifacts() }, { sseKeepAliveMs: 20 });
  const res = await app.request('/v1/jobs', {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ model: 'mlp' }),
  });
  const job = (await res.json()) as JobRecord;
  return { app, cluster, job };
}

describe('GET /v1/jobs/:id/logs', () => {
  it('answers the newest lines of every rank, oldest first, after ?since and up to ?limit', async () => {
    const { app, cluster, job } = await setup();
    cluster.addLog(job.id, { event: 'rank.start', rank: 0, text: 'rank.start world=2' });
    cluster.addLog('j-other', { event: 'other' });
    cluster.addLog(job.id, { event: 'rank.start', rank: 1, trainerId: 't2', text: 'rank.start world=2' });
    const third = cluster.addLog(job.id, { event: 'epoch.done', level: 'warn', text: 'epoch.done epoch=1' });
    const all = (await (await app.request(`/v1/jobs/${job.id}/logs`)).json()) as { lines: LogLine[] };
    expect(all.lines.map((l) => [l.rank, l.trainerId, l.text])).toEqual([
      [0, 't1', 'rank.start world=2'],
      [1, 't2', 'rank.start world=2'],
      [0, 't1', 'epoch.done epoch=1'],
    ]);
    expect(Object.keys(all.lines[0]!).sort()).toEqual([
      'attempt',
      'event',
      'level',
      'rank',
      'seq',
      'text',
      'trainerId',
      'ts',
    ]);
    expect(
      ((await (await app.request(`/v1/jobs/${job.id}/logs?limit=1`)).json()) as { lines: LogLine[] }).lines,
    ).toEqual([third]);
    expect(
      ((await (await app.request(`/v1/jobs/${job.id}/logs?since=${third.seq}`)).json()) as { lines: LogLine[] }).lines,
    ).toEqual([]);
    expect((await app.request(`/v1/jobs/${job.id}/logs?limit=0`)).status).toBe(400);
    expect((await app.request('/v1/jobs/j-nope/logs')).status).toBe(404);
  });

  it('?follow=1 streams the lines so far, then new ones, and ends after the job has finished', async () => {
    const { app, cluster, job } = await setup();
    cluster.addLog(job.id, { event: 'a' });
    const res = await app.request(`/v1/jobs/${job.id}/logs?follow=1`);
    expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/);
    const got: Array<{ event: string; id?: string; text: string }> = [];
    const reading = (async () => {
      for await (const m of readSse(res.body!))
        got.push({ event: m.event, ...(m.id && { id: m.id }), text: (JSON.parse(m.data) as LogLine).text });
    })();
    await new Promise((r) => setTimeout(r, 30));
    cluster.addLog(job.id, { event: 'b' });
    await new Promise((r) => setTimeout(r, 30));
    cluster.put({ ...cluster.records.get(job.id)!, state: 'succeeded' });
    await reading; // ends by itself
    expect(got.map((g) => [g.event, g.text])).toEqual([
      ['log', 'a'],
      ['log', 'b'],
    ]);
    expect(got[1]!.id).toBe('2');
    expect(cluster.following).toBe(0);
  });
});
