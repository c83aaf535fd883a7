import { availableParallelism } from 'node:os';
import type { NatsConnection } from '@nats-io/transport-node';
import { connectNats, openCluster, withNatsRetry, type ClusterClient } from '@mnist/cluster';
import {
  isFinalState,
  jobPrefix,
  parseJobSpec,
  parseMetricsJsonl,
  artifactKeys,
  type JobRecord,
  type JobSpecInput,
  type TrainerInfo,
} from '@mnist/protocol';
import { getText, S3Store, type ArtifactStore } from '@mnist/storage';
import {
  startNatsCluster,
  startNatsServer,
  startS3Server,
  S3RVER_CREDENTIALS,
  type NatsClusterHandle,
  type NatsServerHandle,
  startS3Proxy,
  type S3Proxy,
  type S3ServerHandle,
  type VirtualHosts,
} from '@mnist/testing';
import { FAST_TEST_ENV, spawnTrainer, type LogLine, type TrainerProcess } from '@mnist/dev-cluster';

/**
 * A whole cluster on this machine: real nats-server (or a JetStream cluster of them), real
 * s3rver, real trainer processes.
 */
export interface TestCluster<Broker extends NatsServerHandle | NatsClusterHandle = NatsServerHandle> {
  nats: Broker;
  s3: S3ServerHandle;
  /** The trainers' S3 endpoint: logs who wrote what, holds requests, fakes outages. */
  s3proxy: S3Proxy;
  env: Record<string, string>;
  nc: NatsConnection;
  client: ClusterClient;
  /** The bucket root, seen from the test. */
  store: S3Store;
  trainers: Map<string, TrainerProcess>;
  spawn(id: string, env?: Record<string, string>): Promise<TrainerProcess>;
  submit(spec: JobSpecInput): Promise<JobRecord>;
  /** Watches the record until `done(record)` (every change is seen); rejects with the last record after the timeout. */
  waitForJob(id: string, done: (r: JobRecord) => boolean, timeoutMs?: number): Promise<JobRecord>;
  /** Until the record is final and, when it succeeded, its artifacts are published at the job's root keys. */
  waitForFinal(id: string, timeoutMs?: number): Promise<JobRecord>;
  jobStore(id: string): ArtifactStore;
  epochsInMetrics(id: string): Promise<number[]>;
  /** Resolves with the registry once `count` live trainers are all idle; rejects after the timeout. */
  waitForIdleTrainers(count: number, timeoutMs?: number): Promise<TrainerInfo[]>;
  /** All trainers' log lines matching, for assertions on operational events. */
  logs(match: (l: LogLine) => boolean): LogLine[];
  stop(): Promise<void>;
}

/**
 * With `hosts`, the servers listen on the bridge and trainer i runs in host i (round robin).
 * With `pinCpus`, trainer i runs on CPU i (taskset, round robin): benches keep two
 * single-thread trainers from sharing a core while another sits idle.
 */
interface TestClusterOptions {
  trainers: number;
  env?: Record<string, string>;
  hosts?: VirtualHosts;
  pinCpus?: boolean;
}

/**
 * With `natsNodes`, the broker is a JetStream cluster of that many nats-servers, every
 * process gets all their URLs and the resources are made with that many replicas. With
 * `natsHosts` too, node i runs on host i of those (so a test can partition it).
 */
export async function startTestCluster(
  o: TestClusterOptions & { natsNodes: number; natsHosts?: VirtualHosts },
): Promise<TestCluster<NatsClusterHandle>>;
export async function startTestCluster(o: TestClusterOptions): Promise<TestCluster>;
export async function startTestCluster(
  o: TestClusterOptions & { natsNodes?: number; natsHosts?: VirtualHosts },
): Promise<TestCluster<NatsServerHandle | NatsClusterHandle>> {
  const host = o.hosts?.gateway ?? '127.0.0.1';
  const nats = o.natsNodes
    ? await startNatsCluster({ nodes: o.natsNodes, host, ...(o.natsHosts && { hosts: o.natsHosts }) })
    : await startNatsServer({ host });
  const replicas = o.natsNodes ?? 1;
  const s3 = await startS3Server({ host });
  const s3proxy = await startS3Proxy({ host, port: s3.port, bucket: s3.env.S3_BUCKET! });
  const env: Record<string, string> = {
    ...s3.env,
    S3_ENDPOINT: s3proxy.endpoint,
    ...FAST_TEST_ENV,
    NATS_URL: nats.url,
    ...(o.natsNodes && { NATS_REPLICAS: String(replicas) }),
    ...o.env,
  };
  const nc = await connectNats({ servers: nats.url.split(','), name: 'test', reconnectTimeWaitMs: 200 });
  const resources = { taskAckWaitMs: Number(env.TASK_ACK_WAIT_MS), trainerTtlMs: Number(env.TRAINER_TTL_MS), replicas };
  // As the trainer opens it: a cluster just formed can time out making its first streams.
  const client = await withNatsRetry(() => openCluster(nc, { resources }), { what: 'open cluster' });
  const store = await S3Store.connect({
    bucket: env.S3_BUCKET!,
    region: 'us-east-1',
    endpoint: s3.endpoint,
    forcePathStyle: true,
    credentials: S3RVER_CREDENTIALS,
  });
  await store.ensureBucket();
  const trainers = new Map<string, TrainerProcess>();

  const spawn = async (id: string, extra: Record<string, string> = {}) => {
    const index = trainers.size;
    const vhost = o.hosts?.hosts[index % o.hosts.hosts.length];
    const inHost = o.hosts?.exec(index % o.hosts.hosts.length) ?? [];
    // On a virtual host the peers dial the host's own address, across the links.
    if (vhost) extra = { DATA_BIND: vhost.address, DATA_ADVERTISE: vhost.address, ...extra };
    const prefix = [...inHost, ...(o.pinCpus ? ['taskset', '-c', String(index % availableParallelism())] : [])];
    // The SDK puts the app id in its user agent: the proxy's log names the trainer of each request.
    const t = spawnTrainer({
      id,
      env: { ...env, AWS_SDK_UA_APP_ID: id, ...extra },
      prefix,
      ...(process.env.TRAINER_LOGS ? { echo: process.stderr } : {}),
    });
    trainers.set(id, t);
    await t.waitFor((l) => l.event === 'trainer.ready', 90_000);
    return t;
  };
  await Promise.all(Array.from({ length: o.trainers }, (_, i) => spawn(`t${i + 1}`)));

  // The trainers' last log lines: a timeout's message then says what they were doing.
  const lastLogs = (n = 12) =>
    [...trainers]
      .map(
        ([id, t]) =>
          `--- ${id}, last ${n} lines:\n${t.lines
            .slice(-n)
            .map((l) => JSON.stringify(l))
            .join('\n')}`,
      )
      .join('\n');

  const waitForJob = async (id: string, done: (r: JobRecord) => boolean, timeoutMs = 90_000) => {
    const timeout = AbortSignal.timeout(timeoutMs);
    let last: JobRecord | undefined;
    while (!timeout.aborted) {
      try {
        for await (const r of client.jobs.watch({ id, signal: timeout })) {
          last = r;
          if (done(r)) return r;
        }
      } catch {
        // The broker restarted under the watch: open it again (it starts with the current record).
        await new Promise((r) => setTimeout(r, 200));
      }
    }
    throw new Error(
      `job ${id}: condition not met within ${timeoutMs} ms; record: ${JSON.stringify(last)}\n${lastLogs()}`,
    );
  };

  const waitForLog = (match: (l: LogLine) => boolean, timeoutMs: number) =>
    Promise.any([...trainers.values()].map((t) => t.waitFor(match, timeoutMs))).catch(() => {
      throw new Error(`no trainer logged the expected line within ${timeoutMs} ms`);
    });

  return {
    nats,
    s3,
    s3proxy,
    env,
    nc,
    client,
    store,
    trainers,
    spawn,
    submit: (spec) => client.submit(parseJobSpec(spec)),
    waitForJob,
    waitForFinal: async (id, timeoutMs) => {
      const final = await waitForJob(id, (r) => isFinalState(r.state), timeoutMs);
      // The root keys are published right after the final record write (again, if cut short).
      if (final.state === 'succeeded') await waitForLog((l) => l.jobId === id && l.event === 'job.published', 60_000);
      return final;
    },
    jobStore: (id) => store.scope(jobPrefix(id)),
    epochsInMetrics: async (id) =>
      parseMetricsJsonl((await getText(store.scope(jobPrefix(id)), artifactKeys.metrics)) ?? '').map((r) => r.epoch),
    waitForIdleTrainers: async (count, timeoutMs = 15_000) => {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const list = await client.trainers.list().catch(() => []);
        if (list.length === count && list.every((t) => t.state === 'idle')) return list;
        if (Date.now() > deadline)
          throw new Error(
            `expected ${count} idle trainers, registry has ` +
              `${JSON.stringify(list.map((t) => `${t.id}:${t.state}`))}\n${lastLogs()}`,
          );
        await new Promise((r) => setTimeout(r, 200));
      }
    },
    logs: (match) => [...trainers.values()].flatMap((t) => t.lines.filter(match)),
    stop: async () => {
      for (const t of trainers.values())
        if (t.child.exitCode === null && t.child.signalCode === null) t.child.kill('SIGKILL');
      await Promise.all([...trainers.values()].map((t) => t.exited));
      await nc.close().catch(() => undefined);
      store.destroy();
      await s3proxy.stop();
      await nats.stop();
      await s3.stop();
    },
  };
}
