import type { ClusterClient, ClusterView } from '@mnist/cluster';
import type { ApiCluster } from './deps.js';

/**
 * The routes' view of a ClusterClient: lists come from the watched `view` (no consumer per
 * request); single records from the bucket; a job's newest event from the stream (EventLog.last).
 */
export function clusterDeps(cluster: ClusterClient, view: ClusterView): ApiCluster {
  return {
    submit: async (spec, o) => {
      const record = await cluster.submit(spec, o);
      // Read-your-writes: the list shows the job before the watch brings it.
      view.noteJob(record);
      return record;
    },
    jobs: {
      get: (id) => cluster.jobs.get(id),
      list: async () => view.jobs(),
      cancel: (id, message) => cluster.jobs.cancel(id, message),
    },
    trainers: { list: async () => view.trainers() },
    events: {
      follow: (jobId, o) => cluster.events.follow(jobId, o),
      last: (jobId) => cluster.events.last(jobId),
      lastSeq: (jobId) => cluster.events.lastSeq(jobId),
    },
    logs: {
      tail: (jobId, o) => cluster.logs.tail(jobId, o),
      follow: (jobId, o) => cluster.logs.follow(jobId, o),
    },
  };
}
