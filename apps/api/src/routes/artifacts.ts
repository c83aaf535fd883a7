import { Hono } from 'hono';
import { jobArtifactCandidates, jobPrefix } from '@mnist/protocol';
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

const ATTEMPT_KEY = /^attempts\/(\d{3})\/(.+)$/;

/**
 * A job's files in S3 (`jobs/<id>/...`): the list, and one file by its key under that
 * prefix. Attempts write in their own folders and the final one publishes to the root
 * once the record is final, so a key is looked up where `jobArtifactCandidates` says, and
 * the list shows each attempt file also under its plain key: `report.md` works at once.
 */
export function artifactsRoutes(deps: ApiDeps) {
  const { cluster, artifacts } = deps;
  return new Hono()
    .get('/:id/artifacts', async (c) => {
      const job = await loadJob(cluster, c.req.param('id'));
      const prefix = jobPrefix(job.id);
      const stored = (await artifacts.list(prefix)).map((k) => k.slice(prefix.length));
      const keys = new Set(stored);
      for (const k of stored) {
        const m = ATTEMPT_KEY.exec(k);
        if (m && Number(m[1]) <= job.attempt) keys.add(m[2]!);
      }
      return c.json(
        {
          jobId: job.id,
          artifacts: [...keys].sort().map((key) => ({ key, url: `/v1/jobs/${job.id}/artifacts/${key}` })),
        },
        200,
      );
    })
    .get('/:id/artifacts/:key{.+}', async (c) => {
      const job = await loadJob(cluster, c.req.param('id'));
      const key = safeArtifactKey(c.req.param('key'));
      let bytes: Uint8Array | undefined;
      for (const candidate of key.startsWith('attempts/')
        ? [jobPrefix(job.id) + key]
        : jobArtifactCandidates(job, key)) {
        bytes = await artifacts.get(candidate);
        if (bytes) break;
      }
      if (!bytes) throw HttpError.notFound(`job ${job.id} has no artifact '${key}'`);
      const filename = key.slice(key.lastIndexOf('/') + 1);
      return c.body(bytes.slice().buffer, 200, {
        ...DOWNLOAD_HEADERS,
        'Content-Type': contentTypeOf(key),
        'Content-Disposition': `inline; filename="${filename}"`,
      });
    });
}
