import { z } from 'zod';
import { isFinalState, type JobRecord, type JobState } from './cluster.js';
import { JobSpecSchema, specIssues, type JobSpec, type SpecIssue } from './job-spec.js';
export { SweepIdSchema } from './job-spec.js';
import { MODEL_NAMES } from './models.js';

/**
 * A sweep is a set of ordinary jobs under one id: models x seeds x learning rates x
 * batch sizes. Its state lives in the job records (`spec.sweepId`), so nothing else
 * has to be kept consistent with them.
 */

/** Jobs one sweep may create: a typo in a grid should not flood the queue. */
export const MAX_SWEEP_JOBS = 100;
/** Values one axis of the grid may list. */
export const MAX_SWEEP_AXIS = 20;

const axis = <T extends z.ZodType>(item: T, what: string) =>
  z
    .array(item)
    .min(1, `${what}: give at least one value`)
    .max(MAX_SWEEP_AXIS, `${what}: at most ${MAX_SWEEP_AXIS} values`);

/** The body of POST /v1/sweeps. `base` is every other spec field, shared by all jobs. */
export const SweepRequestSchema = z
  .object({
    models: axis(z.enum(MODEL_NAMES, { error: () => `model must be one of ${MODEL_NAMES.join(', ')}` }), 'models'),
    /** Seeds per grid point: base.seed (default 1), base.seed + 1, ... */
    seeds: z.number().int().min(1).max(MAX_SWEEP_JOBS),
    lr: axis(z.number().positive().max(10), 'lr').optional(),
    batchSize: axis(z.number().int().min(1).max(8192), 'batchSize').optional(),
    base: z.record(z.string(), z.unknown()).default({}),
  })
  .strict()
  .refine((r) => new Set(r.models).size === r.models.length, { message: 'a model is listed twice', path: ['models'] });
export type SweepRequest = z.output<typeof SweepRequestSchema>;
export type SweepRequestInput = z.input<typeof SweepRequestSchema>;

export class InvalidSweepError extends Error {
  override readonly name = 'InvalidSweepError';
  constructor(readonly issues: SpecIssue[]) {
    super(`invalid sweep: ${issues.map((i) => `${i.path}: ${i.message}`).join('; ')}`);
  }
}

/** Grid points of a request, before any spec is built (so the size is known first). */
export function sweepSize(r: Pick<SweepRequest, 'models' | 'seeds' | 'lr' | 'batchSize'>): number {
  return r.models.length * r.seeds * (r.lr?.length ?? 1) * (r.batchSize?.length ?? 1);
}

/**
 * Every job of the sweep as a complete spec, or InvalidSweepError naming the problem:
 * the size bound, or the first grid point whose spec does not validate. Nothing is
 * submitted unless all of them are valid.
 */
export function expandSweep(input: unknown, sweepId: string): JobSpec[] {
  const parsed = SweepRequestSchema.safeParse(input);
  if (!parsed.success) throw new InvalidSweepError(specIssues(parsed.error));
  const r = parsed.data;
  const size = sweepSize(r);
  if (size > MAX_SWEEP_JOBS) {
    const parts = [
      `${r.models.length} models`,
      `${r.seeds} seeds`,
      r.lr && `${r.lr.length} learning rates`,
      r.batchSize && `${r.batchSize.length} batch sizes`,
    ];
    throw new InvalidSweepError([
      {
        path: '(grid)',
        message:
          `${size} jobs (${parts.filter(Boolean).join(' x ')}) ` +
          `is over the limit of ${MAX_SWEEP_JOBS} jobs per sweep`,
      },
    ]);
  }
  for (const key of ['model', 'sweepId'] as const) {
    if (key in r.base)
      throw new InvalidSweepError([{ path: `base.${key}`, message: 'is set by the sweep, not the base spec' }]);
  }
  const firstSeed = typeof r.base.seed === 'number' ? r.base.seed : 1;
  const specs: JobSpec[] = [];
  for (const model of r.models) {
    for (const lr of r.lr ?? [undefined]) {
      for (const batchSize of r.batchSize ?? [undefined]) {
        for (let i = 0; i < r.seeds; i++) {
          const baseOptimizer = (r.base.optimizer ?? {}) as Record<string, unknown>;
          const candidate = {
            ...r.base,
            model,
            seed: firstSeed + i,
            sweepId,
            ...(lr !== undefined && { optimizer: { type: 'sgd', ...baseOptimizer, lr } }),
            ...(batchSize !== undefined && { batchSize }),
          };
          const spec = JobSpecSchema.safeParse(candidate);
          if (!spec.success)
            throw new InvalidSweepError(specIssues(spec.error).map((s) => ({ ...s, path: `base.${s.path}` })));
          specs.push(spec.data);
        }
      }
    }
  }
  return specs;
}

export const SWEEP_STATES = ['queued', 'running', 'succeeded', 'partial', 'cancelled', 'failed'] as const;
export type SweepState = (typeof SWEEP_STATES)[number];

/** A sweep's state from its jobs: running until every job ended, then succeeded only if all did. */
export function sweepState(states: readonly JobState[]): SweepState {
  // Waiting jobs (queued or parked) keep the sweep going; it is 'running' once any job started or ended.
  if (states.some((s) => !isFinalState(s)))
    return states.some((s) => s === 'running' || isFinalState(s)) ? 'running' : 'queued';
  if (states.every((s) => s === 'succeeded')) return 'succeeded';
  if (states.some((s) => s === 'succeeded')) return 'partial';
  return states.some((s) => s === 'cancelled') ? 'cancelled' : 'failed';
}

/** What GET /v1/sweeps/:id answers: counts by state, and the jobs in grid order. */
export interface SweepSummary {
  id: string;
  state: SweepState;
  createdAt: string;
  total: number;
  counts: Record<JobState, number>;
  jobs: JobRecord[];
}

/** The summary of one sweep from its jobs (any order); jobs oldest first, which is the order they were submitted. */
export function summarizeSweep(id: string, jobs: readonly JobRecord[]): SweepSummary {
  const counts = { queued: 0, parked: 0, running: 0, succeeded: 0, failed: 0, cancelled: 0 } satisfies Record<
    JobState,
    number
  >;
  for (const j of jobs) counts[j.state]++;
  const ordered = [...jobs].sort((a, b) => a.createdAt.localeCompare(b.createdAt) || a.id.localeCompare(b.id));
  return {
    id,
    state: sweepState(jobs.map((j) => j.state)),
    createdAt: ordered[0]?.createdAt ?? '',
    total: jobs.length,
    counts,
    jobs: ordered,
  };
}
