import { ClusterNotReadyError } from '@mnist/core';
import type { ApiCluster } from './deps.js';

/**
 * The routes' cluster before it exists: the API serves (health, dashboard, artifacts) from
 * its start, and cluster calls answer 503 with the reason until `ready` resolves (a trainer
 * has created the broker's streams and buckets), then go straight through.
 */
export function pendingCluster(ready: Promise<ApiCluster>): { cluster: ApiCluster; isReady(): boolean } {
  let c: ApiCluster | undefined;
  ready.then(
    (v) => (c = v),
    () => undefined, // the caller handles a failed start; calls keep answering 503
  );
  const get = (): ApiCluster => {
    if (!c) throw new ClusterNotReadyError(['the streams and buckets']);
    return c;
  };
  const cluster: ApiCluster = {
    submit: async (spec, o) => get().submit(spec, o),
    jobs: {
      get: async (id) => get().jobs.get(id),
      list: async () => get().jobs.list(),
      cancel: async (id, message) => get().jobs.cancel(id, message),
    },
    trainers: { list: async () => get().trainers.list() },
    events: {
      follow: (jobId, o) => get().events.follow(jobId, o),
      last: async (jobId) => get().events.last(jobId),
      lastSeq: async (jobId) => get().events.lastSeq(jobId),
    },
    logs: {
      tail: async (jobId, o) => get().logs.tail(jobId, o),
      follow: (jobId, o) => get().logs.follow(jobId, o),
    },
  };
  return { cluster, isReady: () => c !== undefined };
}
