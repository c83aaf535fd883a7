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

/**
 * Consumers with someone behind them, per stream (KV buckets are streams too): pull
 * consumers, and push consumers whose delivery subject has a subscriber (`push_bound`).
 * The ordered consumers of a process that was killed stay until their 5-minute inactivity
 * threshold, with nobody listening: counted apart as orphans, not as a leak.
 */
export async function liveConsumers(
  nc: NatsConnection,
): Promise<{ live: number; orphans: number; byStream: Record<string, number> }> {
  // Clustered, a listing gathers every consumer's info from its leader: after faults it took
  // longer than the 3 s this waited before, which failed the end count of two long runs.
  const jsm = await jetstreamManager(nc, { timeout: 15_000 });
  const out = { live: 0, orphans: 0, byStream: {} as Record<string, number> };
  for await (const s of jsm.streams.list()) {
    if (s.state.consumer_count === 0) continue;
    for await (const c of jsm.consumers.list(s.config.name)) {
      if (c.config.deliver_subject && !c.push_bound) out.orphans++;
      else (out.live++, (out.byStream[s.config.name] = (out.byStream[s.config.name] ?? 0) + 1));
    }
  }
  return out;
}

/** Live consumers on every stream; undefined while the broker does not answer. */
export const consumerCount = (nc: NatsConnection) =>
  liveConsumers(nc).then(
    (c) => c.live,
    () => undefined,
  );

/** Live consumers, asked every 2 s until the broker answers or `ms` pass: the count, or the last error's message. */
export async function liveConsumersWithin(nc: NatsConnection, ms: number): Promise<number | string> {
  for (const deadline = Date.now() + ms; ;) {
    try {
      return (await liveConsumers(nc)).live;
    } catch (err) {
      if (Date.now() > deadline) return (err as Error).message;
      await new Promise((r) => setTimeout(r, 2_000));
    }
  }
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
  // Writes first, records after: every write seen was made under a record this read sees
  // (a claim precedes its attempt's writes), so a job claimed meanwhile does not look unowned.
  const writes = o.writes.filter((w) => w.write).map((w) => ({ client: w.client, key: w.key, at: w.at }));
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
    writes,
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
