import { describe, expect, it } from 'vitest';
import { JOB_STATES, FINAL_STATES, type JobRecord, type JobState } from './cluster.js';
import {
  JOB_TRANSITIONS,
  availableTrainers,
  cancel,
  claim,
  fail,
  newJobRecord,
  ownedBy,
  park,
  ownedByGroup,
  recordEpoch,
  requeue,
  resize,
  succeed,
  unchangedSince,
  unpark,
  unplaceableReason,
  type JobTransition,
  type TransitionName,
} from './job-transitions.js';
import { parseJobSpec } from './job-spec.js';

const spec = parseJobSpec({ model: 'mlp', epochs: 2, replicas: 2 });
const now = new Date('2026-01-02T03:04:05.000Z');
const at = (state: JobState): JobRecord => ({
  ...newJobRecord('j-1', spec, new Date('2026-01-01T00:00:00.000Z')),
  state,
  attempt: 3,
  trainers: state === 'running' ? ['t-a', 't-b'] : [],
  message: 'before',
});

/** One instance of every named transition, with what each must stamp on the record it leads to. */
const EXAMPLES: Record<TransitionName, { t: JobTransition; stamps: Partial<JobRecord> }> = {
  claim: {
    t: claim({ trainers: ['t-x', 't-y'], backend: 'cpu', epoch: 1 }),
    stamps: {
      attempt: 4,
      trainers: ['t-x', 't-y'],
      backend: 'cpu',
      epoch: 1,
      group: 0,
      message: undefined,
      startedAt: now.toISOString(),
    },
  },
  requeue: { t: requeue('retrying'), stamps: { trainers: [], message: 'retrying', attempt: 3 } },
  park: { t: park('needs 2 trainers, 1 live'), stamps: { trainers: [], message: 'needs 2 trainers, 1 live' } },
  unpark: { t: unpark(), stamps: { message: undefined } },
  fail: { t: fail('broken'), stamps: { message: 'broken', finishedAt: now.toISOString() } },
  succeed: { t: succeed(), stamps: { message: undefined, finishedAt: now.toISOString() } },
  cancel: { t: cancel('by request'), stamps: { message: 'by request', finishedAt: now.toISOString() } },
  recordEpoch: { t: recordEpoch({ epoch: 2, backend: 'onednn' }), stamps: { epoch: 2, backend: 'onednn', attempt: 3 } },
  resize: { t: resize({ trainers: ['t-a'] }), stamps: { trainers: ['t-a'], group: 1, attempt: 3 } },
};

/** The whole graph, written out edge by edge (not derived from JOB_TRANSITIONS, which it checks). */
const ALLOWED: Record<TransitionName, [JobState[], JobState]> = {
  claim: [['queued', 'running'], 'running'],
  requeue: [['queued', 'running'], 'queued'],
  park: [['queued', 'running', 'parked'], 'parked'],
  unpark: [['parked'], 'queued'],
  fail: [['queued', 'parked', 'running'], 'failed'],
  succeed: [['running'], 'succeeded'],
  cancel: [['queued', 'parked', 'running'], 'cancelled'],
  recordEpoch: [['running'], 'running'],
  resize: [['running'], 'running'],
};

const edges = (Object.keys(EXAMPLES) as TransitionName[]).flatMap((name) =>
  JOB_STATES.map((from) => ({ name, from, allowed: ALLOWED[name][0].includes(from) })),
);

describe('job state graph', () => {
  it('names every transition the table knows, and no other', () => {
    expect(Object.keys(JOB_TRANSITIONS).sort()).toEqual(Object.keys(ALLOWED).sort());
  });

  it.each(edges.filter((e) => e.allowed))('$name: $from is allowed, and stamps its own fields', ({ name, from }) => {
    const { t, stamps } = EXAMPLES[name];
    const next = t.apply(at(from), now);
    expect(next).toBeDefined();
    expect(next!.state).toBe(ALLOWED[name][1]);
    expect(next).toMatchObject({ ...stamps, id: 'j-1', spec });
    for (const [k, v] of Object.entries(stamps))
      if (v === undefined) expect(next![k as keyof JobRecord]).toBeUndefined();
  });

  it.each(edges.filter((e) => !e.allowed))('$name: $from is refused', ({ name, from }) => {
    expect(EXAMPLES[name].t.apply(at(from), now)).toBeUndefined();
  });

  it('leaves every final state by no edge at all', () => {
    for (const from of FINAL_STATES)
      for (const { t } of Object.values(EXAMPLES)) expect(t.apply(at(from), now)).toBeUndefined();
  });

  it('every failure, success and cancel stamps finishedAt; a claim keeps the first startedAt', () => {
    for (const t of [fail('x'), succeed(), cancel('x')])
      expect(t.apply(at('running'), now)?.finishedAt).toBe(now.toISOString());
    const started = { ...at('running'), startedAt: '2025-12-31T00:00:00.000Z' };
    expect(claim({ trainers: ['t'], backend: 'cpu', epoch: 0 }).apply(started, now)?.startedAt).toBe(started.startedAt);
  });
});

describe('guards', () => {
  it('ownedBy refuses a record of another attempt', () => {
    expect(fail('x', ownedBy(3)).apply(at('running'), now)).toBeDefined();
    expect(fail('x', ownedBy(2)).apply(at('running'), now)).toBeUndefined();
    expect(recordEpoch({ epoch: 1, backend: 'cpu' }, ownedBy(4)).apply(at('running'), now)).toBeUndefined();
  });

  it('ownedByGroup refuses a record of another attempt or group: two resizes of one group cannot both land', () => {
    const once = resize({ trainers: ['t-a'] }, ownedByGroup(3, 0)).apply(at('running'), now);
    expect(once).toMatchObject({ group: 1, trainers: ['t-a'] });
    expect(resize({ trainers: ['t-b'] }, ownedByGroup(3, 0)).apply(once!, now)).toBeUndefined();
    expect(resize({ trainers: ['t-b'] }, ownedByGroup(2, 0)).apply(at('running'), now)).toBeUndefined();
    expect(claim({ trainers: ['t'], backend: 'cpu', epoch: 0 }).apply(once!, now)?.group).toBe(0);
  });

  it('unchangedSince refuses a record written after the snapshot', () => {
    const seen = at('queued');
    expect(park('p', unchangedSince(seen)).apply(seen, now)).toBeDefined();
    expect(park('p', unchangedSince(seen)).apply({ ...seen, updatedAt: now.toISOString() }, now)).toBeUndefined();
    expect(fail('x', unchangedSince(seen)).apply({ ...seen, state: 'parked' }, now)).toBeUndefined();
  });

  it('requeue and park refuse a write that would change nothing (a reason re-stated while waiting)', () => {
    const waiting = { ...at('queued'), message: 'waiting' };
    expect(requeue('waiting').apply(waiting, now)).toBeUndefined();
    expect(requeue('waiting longer').apply(waiting, now)?.message).toBe('waiting longer');
    const parked = { ...at('parked'), message: 'needs 2 trainers, 1 live' };
    expect(park('needs 2 trainers, 1 live').apply(parked, now)).toBeUndefined();
  });
});

describe('placement', () => {
  it('counts trainers that are not draining, and parks a job that needs more', () => {
    const trainers = [{ state: 'idle' as const }, { state: 'busy' as const }, { state: 'draining' as const }];
    expect(availableTrainers(trainers)).toBe(2);
    expect(unplaceableReason(spec, 2)).toBeUndefined();
    expect(unplaceableReason(spec, 1)).toBe('needs 2 trainers, 1 live');
    expect(unplaceableReason({ replicas: 4, minReplicas: 2 }, 2)).toBeUndefined();
  });
});
