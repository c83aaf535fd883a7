import {
  JobRecordSchema,
  neededTrainers,
  parkedReason,
  type JobRecord,
  type JobState,
  type TrainerState,
} from './cluster.js';
import type { JobSpec } from './job-spec.js';

/**
 * The job lifecycle as one state graph. Every change of a job record is one of these
 * named transitions: the states it may leave from, the state it leads to. Nothing else
 * writes a record (a test searches the tree for it); JobStore.transition executes a
 * transition by compare-and-set, applying it again to the fresh record on a conflict.
 * Terminal states (succeeded, failed, cancelled) have no way out.
 */
export const JOB_TRANSITIONS = {
  /** A coordinator starts the next attempt: a queued job, or a running one whose group died. */
  claim: { from: ['queued', 'running'], to: 'running' },
  /** The attempt ended without an outcome (a group that did not form, a drain, a retry): back to the queue. */
  requeue: { from: ['queued', 'running'], to: 'queued' },
  /** Too few trainers to place the job: it leaves the work queue (the reason may be updated while parked). */
  park: { from: ['queued', 'running', 'parked'], to: 'parked' },
  /** Enough trainers again: back to the queue (the reconciler enqueues its task). */
  unpark: { from: ['parked'], to: 'queued' },
  fail: { from: ['queued', 'parked', 'running'], to: 'failed' },
  succeed: { from: ['running'], to: 'succeeded' },
  cancel: { from: ['queued', 'parked', 'running'], to: 'cancelled' },
  /** Rank 0 finished an epoch: the record names the last epoch in metrics.jsonl. */
  recordEpoch: { from: ['running'], to: 'running' },
  /** An elastic job's group changed (grew, lost a rank, gave one back): same attempt, the next group. */
  resize: { from: ['running'], to: 'running' },
} as const satisfies Record<string, { from: readonly JobState[]; to: JobState }>;

export type TransitionName = keyof typeof JOB_TRANSITIONS;

declare const made: unique symbol;

/** A named transition with its arguments bound: only this module makes them (see `define`). */
export interface JobTransition {
  readonly name: TransitionName;
  /** The next record, or undefined when the transition does not apply to `r` (its state, a guard, or no change). */
  apply(r: JobRecord, now: Date): JobRecord | undefined;
  readonly [made]: true;
}

/** An extra condition a caller puts on the record it changes. */
export type Guard = (r: JobRecord) => boolean;

/** Only while `attempt` owns the job: a newer attempt, or a final record, is left alone. */
export const ownedBy =
  (attempt: number): Guard =>
  (r) =>
    r.attempt === attempt;

/** Only while `attempt` owns the job with group `group`: two resizes of one group cannot both land. */
export const ownedByGroup =
  (attempt: number, group: number): Guard =>
  (r) =>
    r.attempt === attempt && r.group === group;

/** Only if nobody changed the record since `seen` was read (the reconciler acts on a snapshot). */
export const unchangedSince =
  (seen: Pick<JobRecord, 'state' | 'updatedAt'>): Guard =>
  (r) =>
    r.updatedAt === seen.updatedAt && r.state === seen.state;

interface Definition {
  guard?: Guard;
  /** Refuse a write that would change nothing (a reason re-stated while waiting). */
  skipUnchanged?: boolean;
}

const changesNothing = (a: JobRecord, b: JobRecord) => JSON.stringify(a) === JSON.stringify(b);

function define(
  name: TransitionName,
  d: Definition,
  stamp: (r: JobRecord, now: string) => Partial<JobRecord>,
): JobTransition {
  const { from, to } = JOB_TRANSITIONS[name];
  const apply = (r: JobRecord, now: Date): JobRecord | undefined => {
    if (!(from as readonly JobState[]).includes(r.state) || (d.guard && !d.guard(r))) return undefined;
    const next: JobRecord = { ...r, ...stamp(r, now.toISOString()), state: to };
    return d.skipUnchanged && changesNothing(r, next) ? undefined : next;
  };
  return { name, apply } as JobTransition;
}

export interface ClaimArgs {
  trainers: string[];
  backend: string;
  /** The epoch the attempt resumes from (0: from scratch). */
  epoch: number;
}

export const claim = (a: ClaimArgs, guard?: Guard) =>
  define('claim', { guard }, (r, now) => ({
    attempt: r.attempt + 1,
    trainers: a.trainers,
    backend: a.backend,
    epoch: a.epoch,
    group: 0,
    message: undefined,
    startedAt: r.startedAt ?? now,
  }));

export const requeue = (message: string, guard?: Guard) =>
  define('requeue', { guard, skipUnchanged: true }, () => ({ trainers: [], message }));

export const park = (message: string, guard?: Guard) =>
  define('park', { guard, skipUnchanged: true }, () => ({ trainers: [], message }));

export const unpark = (guard?: Guard) => define('unpark', { guard }, () => ({ message: undefined }));

export const fail = (message: string, guard?: Guard) =>
  define('fail', { guard }, (_r, now) => ({ message, finishedAt: now }));

export const succeed = (guard?: Guard) =>
  define('succeed', { guard }, (_r, now) => ({ message: undefined, finishedAt: now }));

export const cancel = (message: string, guard?: Guard) =>
  define('cancel', { guard }, (_r, now) => ({ message, finishedAt: now }));

export const recordEpoch = (a: { epoch: number; backend: string }, guard?: Guard) =>
  define('recordEpoch', { guard }, () => ({ epoch: a.epoch, backend: a.backend }));

/** The group's members change; the attempt, its folder and its checkpoints stay (guard with ownedByGroup). */
export const resize = (a: { trainers: string[] }, guard?: Guard) =>
  define('resize', { guard }, (r) => ({ trainers: a.trainers, group: r.group + 1 }));

/** A new job's record: 'queued', or 'parked' with the reason. */
export function newJobRecord(id: string, spec: JobSpec, now: Date, parked?: string): JobRecord {
  const at = now.toISOString();
  const state = parked === undefined ? { state: 'queued' } : { state: 'parked', message: parked };
  return JobRecordSchema.parse({ id, spec, ...state, createdAt: at, updatedAt: at, attempt: 0 });
}

/** Trainers available to place a job: live (the list holds live ones) and not draining. */
export const availableTrainers = (trainers: readonly { state: TrainerState }[]) =>
  trainers.filter((t) => t.state !== 'draining').length;

/**
 * The placement rule, one for the API's admission, the trainers and the reconciler: why
 * `spec` cannot be placed on `available` trainers now ("needs 64 trainers, 2 live"), or
 * undefined when it can.
 */
export const unplaceableReason = (
  spec: Pick<JobSpec, 'replicas' | 'minReplicas'>,
  available: number,
): string | undefined => (neededTrainers(spec) > available ? parkedReason(spec, available) : undefined);
