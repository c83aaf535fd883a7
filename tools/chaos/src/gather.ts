import { readFileSync } from 'node:fs';
import { jetstreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/nats-core';
import { listCheckpoints } from '@mnist/checkpoint';
import type { ClusterClient } from '@mnist/cluster';
import { artifactKeys, isFinalState, jobPrefix, parseMetricsJsonl } from '@mnist/protocol';
import { getText, type ArtifactStore } from '@mnist/storage';
import type { S3Request } from '@mnist/testing';
import type { History, JobFacts } from './judge.js';
import type { Submission } from './workload.js';

/** Consumers on every stream (KV buckets are streams too); undefined while the broker does not answer. */
export async function consumerCount(nc: NatsConnection): Promise<number | undefined> {
  try {
    const jsm = await jetstreamManager(nc, { timeout: 3_000 });
    let n = 0;
    for await (const s of jsm.streams.list()) n += s.state.consumer_count;
    return n;
  } catch {
    return undefined;
  }
}

/** Consumers per stream that has any, for the summary. */
export async function consumersByStream(nc: NatsConnection): Promise<Record<string, number>> {
  const jsm = await jetstreamManager(nc, { timeout: 3_000 });
  const out: Record<string, number> = {};
  for await (const s of jsm.streams.list()) if (s.state.consumer_count > 0) out[s.config.name] = s.state.consumer_count;
  return out;
}

/** A process's resident set in MiB (Linux), 0 when it is gone. */
export function rssMb(pid: number): number {
  try {
    const kb = /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
    return kb ? Math.round(Number(kb) / 1024) : 0;
  } catch {
    return 0;
  }
}

/** Reads back everything the invariants need: records, tasks, events, S3 (directly, not through the proxy). */
export async function gather(
  cluster: ClusterClient,
  s3: ArtifactStore,
  submissions: Submission[],
  o: { writes: S3Request[]; consumers: History['consumers']; maxRssMb: number; sweepsNotAccepted: string[] },
): Promise<History> {
  const records = new Map((await cluster.jobs.list()).map((r) => [r.id, r]));
  const jobs: JobFacts[] = [];
  for (const s of submissions) {
    const facts: JobFacts = { key: s.key, epochs: Number(s.spec.epochs), hasTask: false };
    jobs.push(facts);
    if (!s.id) continue;
    facts.id = s.id;
    const r = records.get(s.id);
    if (!r) continue;
    facts.record = r;
    // Queued: its task is what runs it. Final: a task still there means a publish still owed.
    facts.hasTask = (r.state === 'queued' || isFinalState(r.state)) && (await cluster.tasks.has(r.id));
    if (isFinalState(r.state)) facts.lastStatus = await lastStatus(cluster, r.id);
    if (r.state === 'succeeded') {
      const store = s3.scope(jobPrefix(r.id));
      facts.metricsEpochs = parseMetricsJsonl((await getText(store, artifactKeys.metrics)) ?? '').map((e) => e.epoch);
      facts.checkpoints = await listCheckpoints(store);
    }
  }
  const known = new Set(submissions.map((s) => s.id));
  return {
    now: Date.now(),
    jobs,
    unexpected: [...records.keys()].filter((id) => !known.has(id)),
    sweepsNotAccepted: o.sweepsNotAccepted,
    writes: o.writes.filter((w) => w.write).map((w) => ({ client: w.client, key: w.key, at: w.at })),
    consumers: o.consumers,
    maxRssMb: o.maxRssMb,
  };
}

async function lastStatus(cluster: ClusterClient, jobId: string): Promise<string | undefined> {
  let state: string | undefined;
  for await (const { event } of cluster.events.follow(jobId, {
    untilFinal: true,
    signal: AbortSignal.timeout(5_000),
  })) {
    if (event.type === 'status') state = event.state;
  }
  return state;
}
