import { Hono } from 'hono';
import { validator } from 'hono/validator';
import { z } from 'zod';
import {
  availableTrainers,
  JOB_STATES,
  JobSpecSchema,
  MODEL_NAMES,
  parkedReason,
  parseMetricsJsonl,
  SweepIdSchema,
  specIssues,
  TAG_KEY,
  unplaceableReason,
  type EpochRecord,
  type JobRecord,
  type JobSpec,
} from '@mnist/protocol';
import type { Logger } from '@mnist/core';
import type { ApiCluster, ApiDeps } from '../deps.js';
import { HttpError } from '../http-error.js';
import { idempotencyKey } from './idempotency-key.js';
import { readJobMetricsText } from '../job-metrics.js';
import { decodeCursor, encodeCursor, newestFirst } from './job-cursor.js';
import { loadJob } from './job-lookup.js';
import { jobSummaries, readMetrics, type JobSummary } from './job-summary.js';

export interface JobsOptions {
  /** Largest `replicas` accepted (MAX_REPLICAS): the most trainers this cluster will have. */
  maxReplicas: number;
  /** Waiting (queued + parked) jobs at which a new submit gets 429 (MAX_QUEUED). */
  maxQueued: number;
  log: Logger;
}

const JSON_TYPE = /^application\/(?:[\w.-]+\+)?json\s*(?:;|$)/i;

/** The body of POST /v1/jobs: a JobSpec (defaults filled in), or 400 naming every problem. */
const jobSpecBody = (maxReplicas: number) =>
  validator('json', (value, c) => {
    if (!JSON_TYPE.test(c.req.header('content-type') ?? '')) {
      throw new HttpError(415, { error: 'send the job spec as application/json' });
    }
    const parsed = JobSpecSchema.safeParse(value);
    if (!parsed.success) throw HttpError.badRequest('invalid job spec', specIssues(parsed.error));
    if (parsed.data.replicas > maxReplicas) {
      throw HttpError.badRequest('invalid job spec', [
        {
          path: 'replicas',
          message: `must be at most ${maxReplicas}, the largest group this cluster is configured for (MAX_REPLICAS)`,
        },
      ]);
    }
    return parsed.data;
  });

/** `k=v` of `?tag=`: one or several (all must match). */
const TagFilter = z
  .string()
  .regex(/^[^=]+=/, 'must be key=value')
  .refine((t) => TAG_KEY.test(t.slice(0, t.indexOf('='))), 'tag keys are 1-40 letters, digits, _ . or -');
/** `k=v` as its key and value (the value may hold '='). */
const splitTag = (t: string) => [t.slice(0, t.indexOf('=')), t.slice(t.indexOf('=') + 1)] as const;

/** GET /v1/jobs query: a page of jobs, newest first, optionally filtered. */
const ListQuery = z.object({
  state: z.enum(JOB_STATES).optional(),
  model: z.enum(MODEL_NAMES).optional(),
  sweep: SweepIdSchema.optional(),
  tag: z.array(TagFilter).optional(),
  limit: z.coerce.number().int().min(1).max(1000).optional(),
  cursor: z.string().max(200).optional(),
});
const DEFAULT_PAGE = 100;

const listQuery = validator('query', (_value, c) => {
  // Read with queries(): `?tag=a=1&tag=b=2` keeps both; the others take their first value.
  const value = Object.fromEntries(Object.entries(c.req.queries()).map(([k, v]) => [k, k === 'tag' ? v : v[0]]));
  const parsed = ListQuery.safeParse(value);
  if (!parsed.success) throw HttpError.badRequest('invalid query', specIssues(parsed.error));
  if (parsed.data.cursor !== undefined && decodeCursor(parsed.data.cursor) === null) {
    throw HttpError.badRequest('invalid query', [
      { path: 'cursor', message: 'must be a nextCursor this API returned' },
    ]);
  }
  return parsed.data;
});

/** Admission of a new job: refused when too many wait, parked when the fleet is too small for it now. */
const admit = (cluster: ApiCluster, spec: JobSpec, o: JobsOptions) => async () => {
  const [jobs, trainers] = await Promise.all([cluster.jobs.list(), cluster.trainers.list()]);
  const waiting = jobs.filter((j) => j.state === 'queued' || j.state === 'parked').length;
  if (waiting >= o.maxQueued)
    throw HttpError.tooMany(
      `${waiting} jobs are waiting, the most this cluster holds (MAX_QUEUED); try again later`,
      30,
    );
  const parked = unplaceableReason(spec, availableTrainers(trainers));
  return parked === undefined ? {} : { parked };
};

/** Jobs: submit, list, read, cancel, and the epoch records from S3. */
export function jobsRoutes(deps: ApiDeps, o: JobsOptions) {
  const { cluster, artifacts } = deps;
  const summarize = jobSummaries(artifacts);
  return new Hono()
    .post('/', jobSpecBody(o.maxReplicas), async (c) => {
      const spec = c.req.valid('json');
      const key = idempotencyKey(c.req.header('idempotency-key'));
      // A retry with the same key gets the same answer: this job, 201.
      const record = await cluster.submit(spec, {
        ...(key !== undefined && { idempotencyKey: key }),
        admit: admit(cluster, spec, o),
      });
      return c.json(record, 201, { Location: `/v1/jobs/${record.id}` });
    })
    .get('/', listQuery, async (c) => {
      const { state, model, sweep, tag = [], limit = DEFAULT_PAGE, cursor: after } = c.req.valid('query');
      const cursor = after === undefined ? undefined : decodeCursor(after)!;
      const matches = (j: JobRecord) =>
        (state === undefined || j.state === state) &&
        (model === undefined || j.spec.model === model) &&
        (sweep === undefined || j.spec.sweepId === sweep) &&
        tag.map(splitTag).every(([k, v]) => j.spec.tags?.[k] === v);
      const jobs = (await cluster.jobs.list())
        .filter((j) => matches(j) && (cursor === undefined || newestFirst(j, cursor) > 0))
        .sort(newestFirst);
      // Test accuracies (from metrics.jsonl, cached by attempt and epoch) and durations, for the page only.
      const page: Array<JobRecord & JobSummary> = await summarize(jobs.slice(0, limit));
      // nextCursor only when there is more: the client sends it back for the next page.
      const body: { jobs: Array<JobRecord & JobSummary>; nextCursor?: string } = { jobs: page };
      if (jobs.length > limit) body.nextCursor = encodeCursor(page.at(-1)!);
      return c.json(body, 200);
    })
    .get('/:id', async (c) => c.json(await loadJob(cluster, c.req.param('id')), 200))
    .post('/:id/cancel', async (c) => {
      const job = await loadJob(cluster, c.req.param('id'));
      return c.json(await cluster.jobs.cancel(job.id), 200);
    })
    .get('/:id/metrics', async (c) => {
      const job = await loadJob(cluster, c.req.param('id'));
      const found = await readJobMetricsText(artifacts, job);
      const { records, skipped } = found ? readMetrics(found.text) : { records: [], skipped: 0 };
      if (skipped > 0)
        o.log.warn('metrics.lines_skipped', { jobId: job.id, key: found!.key, skipped, requestId: c.get('requestId') });
      return c.json({ jobId: job.id, state: job.state, records, ...(skipped > 0 && { skippedLines: skipped }) }, 200);
    });
}
