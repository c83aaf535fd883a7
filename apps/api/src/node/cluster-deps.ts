import type { ClusterClient } from '@mnist/cluster';
import { JobEventSchema, NATS_NAMES } from '@mnist/protocol';
import type { ApiCluster } from '../deps.js';

/**
 * The routes' view of a ClusterClient, plus `events.last`: the newest event on a job's
 * subject, read directly from the stream (no consumer). It bounds the replay of a finished
 * job's events and gives /metrics the live throughput.
 */
export async function clusterDeps(cluster: ClusterClient): Promise<ApiCluster> {
  const jsm = await cluster.js.jetstreamManager();
  return {
    submit: (spec) => cluster.submit(spec),
    jobs: cluster.jobs,
    trainers: cluster.trainers,
    events: {
      follow: (jobId, o) => cluster.events.follow(jobId, o),
      last: async (jobId) => {
        const m = await jsm.streams.getMessage(NATS_NAMES.eventsStream, { last_by_subj: NATS_NAMES.eventsSubject(jobId) });
        return m ? { seq: m.seq, event: JobEventSchema.parse(m.json()) } : undefined;
      },
    },
  };
}
