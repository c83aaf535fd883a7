import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { FAST_TEST_ENV, REPO_ROOT, spawnTrainer, waitForHealthy, type TrainerProcess } from '@mnist/dev-cluster';
import { sleep } from '@mnist/core';
import {
  createVirtualHosts,
  freePort,
  startNatsCluster,
  startS3Proxy,
  startS3Server,
  virtualHostsUnavailable,
  waitForPort,
  type NatsClusterHandle,
  type S3Proxy,
  type S3Request,
  type S3ServerHandle,
  type VirtualHosts,
} from '@mnist/testing';
import { FAULT_KINDS, type Fault, type FaultKind } from './schedule.js';

const API_ENTRY = join(REPO_ROOT, 'apps', 'api', 'src', 'node.ts');
/** How long an `-at-` fault waits for its moment (a checkpoint, a publish, a submit) before it counts as missed. */
const MOMENT_WAIT_MS = 20_000;

/**
 * The one-machine fleet: a 3-node NATS cluster (R3), s3rver behind the fault proxy, APIs,
 * trainers. Where network namespaces can be made (root, iproute2) each trainer slot is a
 * host of its own with a link that can be cut; otherwise everything is on 127.0.0.1.
 */
export interface Fleet {
  readonly nats: NatsClusterHandle;
  readonly s3: S3ServerHandle;
  readonly proxy: S3Proxy;
  /** The API a client should use next: round robin over the APIs. */
  apiUrl(): string;
  /** Every trainer ever started (killed ones stay, respawns are added). */
  readonly trainers: TrainerProcess[];
  /** The fault kinds this fleet can suffer (no links to cut without namespaces). */
  readonly kinds: readonly FaultKind[];
  /** Whether the trainers run on hosts of their own (network namespaces). */
  readonly hosts: boolean;
  /** Runs one fault to its end (the node, trainer or API is back, or replaced). */
  inject(fault: Fault): Promise<{ hit: boolean }>;
  /** Process ids of what runs now (APIs and live trainers), for memory samples. */
  pids(): number[];
  stop(): Promise<void>;
}

const alive = (c: ChildProcess) => c.exitCode === null && c.signalCode === null;
const exited = (c: ChildProcess) =>
  alive(c) ? new Promise<void>((resolve) => c.once('exit', () => resolve())) : Promise.resolve();

/**
 * What `arm` resolves with if a request it waits for comes within `ms`, else undefined. The
 * proxy keeps a match it was given: `armed()` turns false once this is over, so a late request
 * is not held or cut by a fault that already ended.
 */
async function firstWithin<T>(arm: (armed: () => boolean) => Promise<T>, ms: number): Promise<T | undefined> {
  let armed = true;
  try {
    return await Promise.race([arm(() => armed), sleep(ms).then(() => undefined)]);
  } finally {
    armed = false;
  }
}

/** A checkpoint's data file (its manifest, written last, makes it complete). */
const isCheckpointFile = (r: S3Request) =>
  r.write && /^jobs\/[^/]+\/attempts\/\d+\/checkpoints\/epoch-\d+\/(?!checkpoint\.json$)/.test(r.key);
/** A key at a job's root: only a publish writes those. */
const isRootWrite = (r: S3Request) => r.write && /^jobs\/[^/]+\/(?!attempts\/)/.test(r.key);

export async function startFleet(o: {
  trainers: number;
  natsNodes: number;
  apis: number;
  /** A folder for every trainer's and API's log lines (trainers.log, api-<i>.log), to read after a violation. */
  logs?: string;
}): Promise<Fleet> {
  if (o.logs) mkdirSync(o.logs, { recursive: true });
  const logTo = (name: string) => (o.logs ? createWriteStream(join(o.logs, name), { flags: 'a' }) : undefined);
  const trainerLog = logTo('trainers.log');
  const hosts = virtualHostsUnavailable() ? undefined : await createVirtualHosts({ hosts: o.trainers });
  const host = hosts?.gateway ?? '127.0.0.1';
  const nats = await startNatsCluster({ nodes: o.natsNodes, host });
  const s3 = await startS3Server({ host });
  const proxy = await startS3Proxy({ host, port: s3.port, bucket: s3.env.S3_BUCKET! });
  const env: Record<string, string> = {
    ...s3.env,
    S3_ENDPOINT: proxy.endpoint,
    ...FAST_TEST_ENV,
    NATS_URL: nats.url,
    NATS_REPLICAS: String(o.natsNodes),
    LOG_LEVEL: 'info',
  };

  const ports = await Promise.all(Array.from({ length: o.apis }, () => freePort()));
  const apis: (ChildProcess | undefined)[] = ports.map(() => undefined);
  let nextApi = 0;
  const apiUrlOf = (i: number) => `http://127.0.0.1:${ports[i]!}`;
  const startApi = async (i: number, extra: Record<string, string> = {}) => {
    const port = String(ports[i]!);
    const child = spawn(process.execPath, ['--import', 'tsx', API_ENTRY], {
      cwd: REPO_ROOT,
      env: { ...process.env, ...env, ...extra, PORT: port, HOST: '127.0.0.1' },
      stdio: ['ignore', o.logs ? 'pipe' : 'ignore', o.logs ? 'pipe' : 'ignore'],
    });
    const out = logTo(`api-${i}.log`);
    if (out) for (const s of [child.stdout!, child.stderr!]) s.pipe(out, { end: false });
    apis[i] = child;
    await waitForPort(ports[i]!, 60_000);
  };
  const killApi = async (i: number) => {
    const api = apis[i];
    if (api && alive(api)) api.kill('SIGKILL');
    if (api) await exited(api);
  };

  // Trainer slot i runs on host i (when there are hosts); a respawn takes the slot of the one it replaces.
  const trainers: TrainerProcess[] = [];
  const slots = new Map<TrainerProcess, number>();
  const live = () => trainers.filter((t) => alive(t.child));
  let next = 1;
  const addTrainer = async (slot: number) => {
    const id = `t${next++}`;
    const address = hosts?.hosts[slot]?.address;
    const t = spawnTrainer({
      id,
      env: { ...env, AWS_SDK_UA_APP_ID: id, ...(address && { DATA_BIND: address, DATA_ADVERTISE: address }) },
      prefix: hosts?.exec(slot) ?? [],
      ...(trainerLog && { echo: trainerLog }),
    });
    trainers.push(t);
    slots.set(t, slot);
    await t.waitFor((l) => l.event === 'trainer.ready', 120_000);
  };
  /** SIGKILL, then a replacement in the same slot after `ms`. */
  const replace = async (t: TrainerProcess, ms: number) => {
    t.child.kill('SIGCONT');
    t.child.kill('SIGKILL');
    await t.exited;
    await sleep(ms);
    await addTrainer(slots.get(t)!);
  };
  /** The trainer that sent a held request, killed with it in flight, and replaced. */
  const killAtWrite = async (match: (r: S3Request) => boolean, ms: number) => {
    const held = await firstWithin((armed) => proxy.holdNext((r) => armed() && match(r)), MOMENT_WAIT_MS);
    const writer = held && live().find((t) => t.id === held.request.client);
    if (!held || !writer) {
      held?.release();
      return { hit: false };
    }
    await replace(writer, ms); // the held write never reaches S3: its sender is gone
    return { hit: true };
  };

  const stop = async () => {
    for (const t of trainers) if (alive(t.child)) (t.child.kill('SIGCONT'), t.child.kill('SIGKILL'));
    await Promise.all(apis.map((_, i) => killApi(i)));
    await Promise.all(trainers.map((t) => t.exited));
    await proxy.stop();
    await nats.stop();
    await s3.stop();
    await hosts?.stop();
  };
  try {
    await Promise.all(ports.map((_, i) => startApi(i)));
    // The trainers create the streams and buckets; the APIs are healthy once they exist.
    await Promise.all(Array.from({ length: o.trainers }, (_, i) => addTrainer(i)));
    await Promise.all(ports.map((_, i) => waitForHealthy(apiUrlOf(i))));
  } catch (err) {
    await stop();
    throw err;
  }

  const inject = async (f: Fault): Promise<{ hit: boolean }> => {
    const node = nats.nodes[f.target % nats.nodes.length]!;
    const victim = live()[f.target % Math.max(1, live().length)];
    const api = f.target % apis.length;
    switch (f.kind) {
      case 'trainer-kill':
        if (!victim) return { hit: false };
        await replace(victim, f.ms);
        return { hit: true };
      case 'trainer-stop':
        if (!victim) return { hit: false };
        victim.child.kill('SIGSTOP');
        await sleep(f.ms);
        victim.child.kill('SIGCONT');
        return { hit: true };
      case 'link-cut': {
        if (!hosts || !victim) return { hit: false };
        const slot = slots.get(victim)!;
        hosts.setLink(slot, false);
        await sleep(f.ms);
        hosts.setLink(slot, true);
        return { hit: true };
      }
      case 'kill-at-checkpoint':
        return killAtWrite(isCheckpointFile, f.ms);
      case 'kill-at-publish':
        return killAtWrite(isRootWrite, f.ms);
      case 'nats-kill':
      case 'nats-restart':
        await (f.kind === 'nats-kill' ? node.kill() : node.stop());
        await sleep(f.ms);
        await node.start();
        await nats.waitForHealthy(60_000);
        return { hit: true };
      case 'nats-freeze':
        node.signal('SIGSTOP');
        await sleep(f.ms);
        node.signal('SIGCONT');
        await nats.waitForHealthy(60_000);
        return { hit: true };
      case 's3-outage':
      case 's3-outage-at-publish': {
        // A plain outage starts at the next request (one comes within a second while anything trains).
        const match = f.kind === 's3-outage' ? () => true : isRootWrite;
        const wait = f.kind === 's3-outage' ? 5_000 : MOMENT_WAIT_MS;
        const hit = await firstWithin((armed) => proxy.outageOnNext((r) => armed() && match(r), f.ms), wait);
        const started = hit !== undefined;
        if (started) await sleep(f.ms);
        proxy.up();
        return { hit: started };
      }
      case 'api-kill':
        await killApi(api);
        await sleep(f.ms);
        await startApi(api);
        await waitForHealthy(apiUrlOf(api));
        return { hit: true };
      case 'api-kill-at-submit': {
        // Restarted armed: it dies at its next submit, between the record and the task.
        await killApi(api);
        await startApi(api, { MNIST_FAILPOINTS: 'submit.after-record' });
        await waitForHealthy(apiUrlOf(api));
        const hit = await Promise.race([exited(apis[api]!).then(() => true), sleep(MOMENT_WAIT_MS).then(() => false)]);
        await killApi(api);
        await sleep(f.ms);
        await startApi(api);
        await waitForHealthy(apiUrlOf(api));
        return { hit };
      }
    }
  };

  return {
    nats,
    s3,
    proxy,
    apiUrl: () => apiUrlOf(nextApi++ % apis.length),
    trainers,
    hosts: hosts !== undefined,
    kinds: hosts ? FAULT_KINDS : FAULT_KINDS.filter((k) => k !== 'link-cut'),
    inject,
    pids: () => [...apis.filter((a) => a && alive(a)).map((a) => a!.pid!), ...live().map((t) => t.child.pid!)],
    stop,
  };
}
