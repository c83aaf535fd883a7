import { describe, expect, it } from 'vitest';
import type { JobRecord } from '@mnist/protocol';
import { judge, type History, type JobFacts } from './judge.js';

const NOW = Date.parse('2030-01-01T00:10:00Z');
const record = (id: string, patch: Partial<JobRecord> = {}): JobRecord =>
  ({
    id,
    state: 'succeeded',
    attempt: 1,
    epoch: 2,
    trainers: ['t1'],
    spec: { model: 'mlp', epochs: 2 },
    createdAt: '2030-01-01T00:00:00Z',
    updatedAt: '2030-01-01T00:01:00Z',
    finishedAt: '2030-01-01T00:01:00Z',
    ...patch,
  }) as JobRecord;
const done = (id: string, patch: Partial<JobFacts> = {}): JobFacts => ({
  key: `key-${id}`,
  epochs: 2,
  id,
  record: record(id),
  hasTask: false,
  metricsEpochs: [1, 2],
  checkpoints: [1, 2],
  lastStatus: 'succeeded',
  ...patch,
});
const history = (patch: Partial<History> = {}): History => ({
  now: NOW,
  jobs: [done('a')],
  unexpected: [],
  sweepsNotAccepted: [],
  writes: [],
  consumers: { baseline: 3, max: 8, end: 4 },
  maxRssMb: 300,
  ...patch,
});
const kinds = (h: History) => judge(h).map((v) => v.invariant);

describe('judge', () => {
  it('passes a clean history', () => {
    expect(
      judge(
        history({
          writes: [
            { client: 't1', key: 'jobs/a/metrics.jsonl', at: NOW },
            { client: 't2', key: 'jobs/a/attempts/001/x', at: Date.parse('2030-01-01T00:00:30Z') },
          ],
        }),
      ),
    ).toEqual([]);
  });

  it('finds lost, duplicated, orphaned and starved jobs', () => {
    const h = history({
      jobs: [
        done('a', { record: undefined }),
        done('b', { record: record('b', { state: 'queued', finishedAt: undefined }) }),
        done('c', { hasTask: true, record: record('c', { state: 'queued', updatedAt: '2030-01-01T00:05:00Z' }) }),
        done('d', { hasTask: true, record: record('d', { state: 'running', updatedAt: '2030-01-01T00:09:30Z' }) }),
        { key: 'never', epochs: 1, hasTask: false },
      ],
      unexpected: ['z'],
    });
    expect(kinds(h).sort()).toEqual(['accepted', 'no-duplicate', 'no-lost-job', 'no-orphan', 'no-starved-job']);
  });

  it('finds missing or repeated epochs, incomplete checkpoints and a status event that disagrees', () => {
    const h = history({
      jobs: [
        done('a', { metricsEpochs: [1, 2, 2] }),
        done('b', { checkpoints: [1] }),
        done('c', { lastStatus: 'failed' }),
      ],
    });
    expect(kinds(h).sort()).toEqual(['checkpoints-complete', 'events', 'metrics-each-epoch-once']);
  });

  it('finds late writes: after the end, beyond the final attempt, or at the root before the end', () => {
    const writes = [
      { client: 't2', key: 'jobs/a/attempts/001/metrics.jsonl', at: Date.parse('2030-01-01T00:02:00Z') },
      { client: 't2', key: 'jobs/a/attempts/002/x', at: Date.parse('2030-01-01T00:00:30Z') },
      { client: 't2', key: 'jobs/a/report.md', at: Date.parse('2030-01-01T00:00:59Z') },
    ];
    expect(kinds(history({ writes }))).toEqual(['no-late-write', 'no-late-write', 'no-late-write']);
    // Another group's trainer finishing a publish cut short, after the end: fine.
    expect(kinds(history({ writes: [{ client: 't3', key: 'jobs/a/report.md', at: NOW }] }))).toEqual([]);
  });

  it('finds a final job whose publish is still owed, and a sweep never accepted', () => {
    expect(kinds(history({ jobs: [done('a', { hasTask: true })], sweepsNotAccepted: ['chaos-1-8'] }))).toEqual([
      'published',
      'accepted',
    ]);
  });

  it('counts consumers that could not be counted at the end as a violation, not a pass', () => {
    expect(kinds(history({ consumers: { baseline: 3, max: 8, end: -1 } }))).toEqual(['consumers-bounded']);
  });

  it('finds unbounded consumers and memory', () => {
    expect(kinds(history({ consumers: { baseline: 3, max: 200, end: 40 }, maxRssMb: 4_000 }))).toEqual([
      'consumers-bounded',
      'consumers-bounded',
      'memory-bounded',
    ]);
  });
});
