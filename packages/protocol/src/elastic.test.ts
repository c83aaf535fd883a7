import { describe, expect, it } from 'vitest';
import type { JobRecord } from './cluster.js';
import { mayGrow, ranksToGiveBack, trainersWanted } from './elastic.js';
import { newJobRecord } from './job-transitions.js';
import { parseJobSpec } from './job-spec.js';

const job = (id: string, state: JobRecord['state'], spec: object, trainers: string[] = [], at = 0): JobRecord => ({
  ...newJobRecord(id, parseJobSpec({ model: 'mlp', ...spec }), new Date(Date.UTC(2026, 0, 1, 0, 0, at))),
  state,
  trainers,
});
const busy = { state: 'busy' as const };
const idle = { state: 'idle' as const };

describe('sharing the fleet', () => {
  const elastic = job('e', 'running', { minReplicas: 1, replicas: 3 }, ['t1', 't2', 't3']);

  it('a running elastic job gives back what the oldest queued job lacks, down to its minimum', () => {
    const small = job('q1', 'queued', { replicas: 1 }, [], 1);
    expect(ranksToGiveBack(elastic, [elastic, small], [busy, busy, busy])).toBe(1);
    expect(ranksToGiveBack(elastic, [elastic, small], [busy, busy, busy, idle])).toBe(0);
    const big = job('q0', 'queued', { replicas: 4 }, [], 0);
    // FIFO: the oldest queued job counts (4 lacking), and the job keeps its minimum of 1.
    expect(ranksToGiveBack(elastic, [elastic, small, big], [busy, busy, busy])).toBe(2);
    // A fixed job gives nothing back; a parked job (unplaceable anyway) takes nothing.
    expect(ranksToGiveBack(job('f', 'running', { replicas: 3 }, ['a', 'b', 'c']), [small], [])).toBe(0);
    expect(ranksToGiveBack(elastic, [elastic, job('p', 'parked', { replicas: 9 })], [])).toBe(0);
  });

  it('two elastic jobs do not both give back for one queued job: the youngest gives first', () => {
    const older = job('e1', 'running', { minReplicas: 1, replicas: 2 }, ['t1', 't2'], 0);
    const younger = job('e2', 'running', { minReplicas: 1, replicas: 2 }, ['t3', 't4'], 1);
    const one = job('q', 'queued', { replicas: 1 }, [], 2);
    const jobs = [older, younger, one];
    const fleet = [busy, busy, busy, busy];
    expect([ranksToGiveBack(older, jobs, fleet), ranksToGiveBack(younger, jobs, fleet)]).toEqual([0, 1]);
    // A need larger than the youngest's spare: the older job gives the rest.
    const two = job('q', 'queued', { replicas: 2 }, [], 2);
    expect([
      ranksToGiveBack(older, [older, younger, two], fleet),
      ranksToGiveBack(younger, [older, younger, two], fleet),
    ]).toEqual([1, 1]);
  });

  it('grows only while nothing is queued', () => {
    expect(mayGrow([elastic])).toBe(true);
    expect(mayGrow([elastic, job('q', 'queued', {})])).toBe(false);
  });

  it('wants every waiting minimum plus the elastic growth, less the idle trainers', () => {
    const two = job('e2', 'running', { minReplicas: 1, replicas: 3 }, ['t1']);
    const jobs = [two, job('q', 'queued', { replicas: 2 }), job('p', 'parked', { replicas: 4, minReplicas: 3 })];
    expect(trainersWanted(jobs, [busy, idle])).toBe(2 + 2 + 3 - 1);
    expect(trainersWanted([elastic], [idle, idle])).toBe(0);
  });
});
