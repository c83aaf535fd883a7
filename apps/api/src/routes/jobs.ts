import { Hono } from 'hono';
import { validator } from 'hono/validator';
import { JOB_STATES, JobSpecSchema, parseMetricsJsonl, specIssues, type JobState } from '@mnist/protocol';
import type { ApiDeps } from '../deps.js';
import { HttpError } from '../http-error.js';
import { readJobMetricsText } from '../job-metrics.js';
import { loadJob } from './job-lookup.js';

const JSON_TYPE = /^application\/(?:[\w.-]+\+)?json\s*(?:;|$)/i;

/** The body of POST /v1/jobs: a JobSpec (defaults filled in), or 400 naming every problem. */
const jobSpecBody = validator('json', (value, c) => {
  if (!JSON_TYPE.test(c.req.header('content-type') ?? '')) {
    throw new HttpError(415, { error: 'send the job spec as application/json' });
  }
  const parsed = JobSpecSchema.safeParse(value);
  if (!parsed.success) throw HttpError.badRequest('invalid job spec', specIssues(parsed.error));
  return parsed.data;
});

const isJobState = (s: string): s is JobState => (JOB_STATES as readonly string[]).includes(s);

/** Jobs: submit, list, read, cancel, and the epoch records from S3. */
export function jobsRoutes(deps: ApiDeps) {
  const { cluster, artifacts } = deps;
  return new Hono()
    .post('/', jobSpecBody, async (c) => {
      const record = await cluster.submit(c.req.valid('json'));
      return c.json(record, 201, { Location: `/v1/jobs/${record.id}` });
    })
    .get('/', async (c) => {
      const state = c.req.query('state');
      if (state !== undefined && !isJobState(state)) {
        throw HttpError.badRequest('invalid query', [{ path: 'state', message: `must be one of ${JOB_STATES.join(', ')}` }]);
      }
      const jobs = await cluster.jobs.list();
      return c.json({ jobs: state ? jobs.filter((j) => j.state === state) : jobs }, 200);
    })
    .get('/:id', async (c) => c.json(await loadJob(cluster, c.req.param('id')), 200))
    .post('/:id/cancel', async (c) => {
      const job = await loadJob(cluster, c.req.param('id'));
      return c.json(await cluster.jobs.cancel(job.id), 200);
    })
    .get('/:id/metrics', async (c) => {
      const job = await loadJob(cluster, c.req.param('id'));
      const found = await readJobMetricsText(artifacts, job);
      let records;
      try {
        records = found ? parseMetricsJsonl(found.text, found.key) : [];
      } catch (err) {
        throw new HttpError(502, { error: `${found?.key} is not a valid metrics file` }, {}, { cause: err });
      }
      return c.json({ jobId: job.id, state: job.state, records }, 200);
    });
}
