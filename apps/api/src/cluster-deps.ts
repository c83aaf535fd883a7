import type { ClusterClient, ClusterView } from '@mnist/cluster';
import { JobEventSchema, NATS_NAMES } from '@mnist/protocol';
import type { ApiCluster } from './deps.js';

/**
 * The routes' view of a ClusterClient: lists come from the watched `view` (no consumer per
 * request); single records from the bucket. `events.last` reads the newest event on a job's
 * subject directly from the stream (no consumer): it bounds the replay of a finished job's
 * events and gives /metrics the live throughput.
 */
export async function clusterDeps(cluster: ClusterClient, view: ClusterView): Promise<ApiCluster> {
  const jsm = await cluster.js.jetstreamManager();
  const newest = (jobId: string) => jsm.streams.getMessage(NATS_NAMES.eventsStream, { last_by_subj: NATS_NAMES.eventsSubject(jobId) });
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
      last: async (jobId) => {
        const m = await newest(jobId);
        const parsed = m ? JobEventSchema.safeParse(jsonOrUndefined(() => m.json())) : undefined;
        return m && parsed?.success ? { seq: m.seq, event: parsed.data } : undefined;
      },
      lastSeq: async (jobId) => (await newest(jobId))?.seq ?? 0,
    },
    logs: {
      tail: (jobId, o) => cluster.logs.tail(jobId, o),
      follow: (jobId, o) => cluster.logs.follow(jobId, o),
    },
  };
}

function jsonOrUndefined(read: () => unknown): unknown {
  try {
    return read();
  } catch {
    return undefined;
  }
}
