import { Hono } from 'hono';
import { validator } from 'hono/validator';
import {
  expandSweep,
  InvalidSweepError,
  isFinalState,
  specIssues,
  summarizeSweep,
  SweepIdSchema,
  SweepRequestSchema,
  type JobRecord,
  type JobSpec,
  type SweepRequest,
} from '@mnist/protocol';
import { IdempotencyKeyReusedError } from '@mnist/core';
import type { ApiCluster, ApiDeps } from '../deps.js';
import { HttpError } from '../http-error.js';
import { idempotencyKey } from './idempotency-key.js';

const JSON_TYPE = /^application\/(?:[\w.-]+\+)?json\s*(?:;|$)/i;

/** A fresh sweep id: time then randomness, like job ids, so ids sort by creation. */
const newSweepId = () => `s-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 10).padEnd(8, '0')}`;

/** The sweep an Idempotency-Key stands for: a hash (as for keyed jobs), so a retry names the same sweep. */
async function sweepIdForKey(key: string): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(`sweep ${key}`)));
  return `s-k${[...digest.slice(0, 12)].map((b) => b.toString(16).padStart(2, '0')).join('')}`;
}

/** The body of POST /v1/sweeps: a sweep request, or 400 naming every problem. */
const sweepBody = validator('json', (value, c) => {
  if (!JSON_TYPE.test(c.req.header('content-type') ?? ''))
    throw new HttpError(415, { error: 'send the sweep as application/json' });
  const parsed = SweepRequestSchema.safeParse(value);
  if (!parsed.success) throw HttpError.badRequest('invalid sweep', specIssues(parsed.error));
  return parsed.data;
});

/** Every job of the grid as a complete spec, or 400 (the size limit, a bad base field): nothing is submitted then. */
function gridSpecs(request: SweepRequest, id: string): JobSpec[] {
  try {
    return expandSweep(request, id);
  } catch (err) {
    if (err instanceof InvalidSweepError) throw HttpError.badRequest('invalid sweep', err.issues);
    throw err;
  }
}

/** The jobs of a sweep, or 404: a sweep exists only through its jobs. */
async function sweepJobs(cluster: ApiCluster, id: string): Promise<JobRecord[]> {
  const jobs = SweepIdSchema.safeParse(id).success
    ? (await cluster.jobs.list()).filter((j) => j.spec.sweepId === id)
    : [];
  if (jobs.length === 0) throw HttpError.notFound(`sweep '${id.slice(0, 64)}' not found`);
  return jobs;
}

/** A keyed retry asks for the grid its key first asked for: every job of the sweep made so far is in it (or 409). */
async function sameGridOrConflict(cluster: ApiCluster, id: string, specs: JobSpec[]): Promise<void> {
  const wanted = new Set(specs.map((spec) => JSON.stringify(spec)));
  const made = (await cluster.jobs.list()).filter((j) => j.spec.sweepId === id);
  const other = made.find((j) => !wanted.has(JSON.stringify(j.spec)));
  if (other) throw new IdempotencyKeyReusedError(other.id);
}

/** Sweeps: a grid of ordinary jobs under one id. Create, list, read, list its jobs, cancel. */
export function sweepsRoutes(deps: ApiDeps) {
  const { cluster } = deps;
  return new Hono()
    .post('/', sweepBody, async (c) => {
      // With a key, a retry (the first try cut short anywhere in the grid) names the same sweep,
      // and each of its jobs is keyed by the key and its place: the retry makes only what is missing.
      const key = idempotencyKey(c.req.header('idempotency-key'));
      const id = key === undefined ? newSweepId() : await sweepIdForKey(key);
      const specs = gridSpecs(c.req.valid('json'), id);
      if (key !== undefined) await sameGridOrConflict(cluster, id, specs);
      // Submitted one by one in grid order; the work queue hands them to free trainers as they come.
      const jobs: JobRecord[] = [];
      for (const [i, spec] of specs.entries())
        jobs.push(await cluster.submit(spec, key === undefined ? {} : { idempotencyKey: `${key}#${i}` }));
      return c.json(summarizeSweep(id, jobs), 201, { Location: `/v1/sweeps/${id}` });
    })
    .get('/', async (c) => {
      const bySweep = new Map<string, JobRecord[]>();
      for (const j of await cluster.jobs.list()) {
        if (j.spec.sweepId) bySweep.set(j.spec.sweepId, [...(bySweep.get(j.spec.sweepId) ?? []), j]);
      }
      const sweeps = [...bySweep].map(([id, jobs]) => {
        const { jobs: _omitted, ...summary } = summarizeSweep(id, jobs);
        return summary;
      });
      return c.json({ sweeps: sweeps.sort((a, b) => b.createdAt.localeCompare(a.createdAt)) }, 200);
    })
    .get('/:id', async (c) => {
      const id = c.req.param('id');
      return c.json(summarizeSweep(id, await sweepJobs(cluster, id)), 200);
    })
    .get('/:id/jobs', async (c) => {
      const id = c.req.param('id');
      return c.json({ sweepId: id, jobs: summarizeSweep(id, await sweepJobs(cluster, id)).jobs }, 200);
    })
    .post('/:id/cancel', async (c) => {
      const id = c.req.param('id');
      const jobs = await sweepJobs(cluster, id);
      const after = await Promise.all(
        jobs.map(async (j) => {
          if (isFinalState(j.state)) return j;
          try {
            return await cluster.jobs.cancel(j.id, `sweep ${id} cancelled`);
          } catch (err) {
            // It ended between the listing and the cancel: keep what it is now.
            if ((err as Error).name === 'JobFinishedError') return (await cluster.jobs.get(j.id)) ?? j;
            throw err;
          }
        }),
      );
      return c.json(summarizeSweep(id, after), 200);
    });
}
