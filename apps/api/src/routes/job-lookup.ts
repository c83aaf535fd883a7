import { JobIdSchema, type JobRecord } from '@mnist/protocol';
import type { ApiCluster } from '../deps.js';
import { HttpError } from '../http-error.js';

/**
 * The job named in a URL, or 404. An id outside the id alphabet cannot exist, so it is a
 * 404 too; checking it first also keeps NATS subject and S3 key syntax out of lookups.
 */
export async function loadJob(cluster: ApiCluster, id: string): Promise<JobRecord> {
  const record = JobIdSchema.safeParse(id).success ? await cluster.jobs.get(id) : undefined;
  if (!record) throw HttpError.notFound(`job '${id.slice(0, 64)}' not found`);
  return record;
}
