import { Hono } from 'hono';
import { jobPrefix } from '@mnist/protocol';
import type { ApiDeps } from '../deps.js';
import { HttpError } from '../http-error.js';
import { contentTypeOf, safeArtifactKey } from './artifact-key.js';
import { loadJob } from './job-lookup.js';

/** Artifacts are written by trainers; still, never let one run as a page of this origin. */
const DOWNLOAD_HEADERS = {
  'Content-Security-Policy': "default-src 'none'; sandbox",
  'X-Content-Type-Options': 'nosniff',
  'Cache-Control': 'no-cache',
} as const;

/** A job's files in S3 (`jobs/<id>/...`): the list, and one file by its key under that prefix. */
export function artifactsRoutes(deps: ApiDeps) {
  const { cluster, artifacts } = deps;
  return new Hono()
    .get('/:id/artifacts', async (c) => {
      const job = await loadJob(cluster, c.req.param('id'));
      const prefix = jobPrefix(job.id);
      const keys = (await artifacts.list(prefix)).map((k) => k.slice(prefix.length));
      return c.json({ jobId: job.id, artifacts: keys.map((key) => ({ key, url: `/v1/jobs/${job.id}/artifacts/${key}` })) }, 200);
    })
    .get('/:id/artifacts/:key{.+}', async (c) => {
      const job = await loadJob(cluster, c.req.param('id'));
      const key = safeArtifactKey(c.req.param('key'));
      const bytes = await artifacts.get(jobPrefix(job.id) + key);
      if (!bytes) throw HttpError.notFound(`job ${job.id} has no artifact '${key}'`);
      const filename = key.slice(key.lastIndexOf('/') + 1);
      return c.body(bytes.slice().buffer, 200, {
        ...DOWNLOAD_HEADERS,
        'Content-Type': contentTypeOf(key),
        'Content-Disposition': `inline; filename="${filename}"`,
      });
    });
}
