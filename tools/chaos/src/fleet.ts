import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { FAST_TEST_ENV, REPO_ROOT, spawnTrainer, waitForHealthy, type TrainerProcess } from '@mnist/dev-cluster';
import { sleep } from '@mnist/core';
import {
  freePort,
  startNatsCluster,
  startS3Proxy,
  startS3Server,
  waitForPort,
  type NatsClusterHandle,
  type S3Proxy,
  type S3ServerHandle,
} from '@mnist/testing';
import type { Fault } from './schedule.js';

const API_ENTRY = join(REPO_ROOT, 'apps', 'api', 'src', 'node.ts');

/** The one-machine fleet: a 3-node NATS cluster (R3), s3rver behind the fault proxy, one API, trainers. */
export interface Fleet {
  readonly nats: NatsClusterHandle;
  readonly s3: S3ServerHandle;
  readonly proxy: S3Proxy;
  readonly apiUrl: string;
  /** Every trainer ever started (killed ones stay, respawns are added). */
  readonly trainers: TrainerProcess[];
  /** Runs one fault to its end (the node, trainer or API is back, or replaced). */
  inject(fault: Fault): Promise<{ hit: boolean }>;
  /** Process ids of what runs now (API and live trainers), for memory samples. */
  pids(): number[];
  stop(): Promise<void>;
}

const alive = (c: ChildProcess) => c.exitCode === null && c.signalCode === null;

export async function startFleet(o: { trainers: number; natsNodes: number }): Promise<Fleet> {
  const nats = await startNatsCluster({ nodes: o.natsNodes });
  const s3 = await startS3Server();
  const proxy = await startS3Proxy({ host: '127.0.0.1', port: s3.port, bucket: s3.env.S3_BUCKET! });
  const env: Record<string, string> = {
    ...s3.env,
    S3_ENDPOINT: proxy.endpoint,
    ...FAST_TEST_ENV,
    NATS_URL: nats.url,
    NATS_REPLICAS: String(o.natsNodes),
    LOG_LEVEL: 'info',
  };
  const port = await freePort();
  const apiUrl = `http://127.0.0.1:${port}`;
  let api: ChildProcess | undefined;
  const startApi = async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', API_ENTRY], {
      cwd: REPO_ROOT,
      env: { ...process.env, ...env, PORT: String(port), HOST: '127.0.0.1' },
      stdio: 'ignore',
    });
    api = child;
    await waitForPort(port, 60_000);
  };
  const trainers: TrainerProcess[] = [];
  const live = () => trainers.filter((t) => alive(t.child));
  let next = 1;
  const addTrainer = () => {
    const id = `t${next++}`;
    const t = spawnTrainer({ id, env: { ...env, AWS_SDK_UA_APP_ID: id } });
    trainers.push(t);
    return t;
  };

  const stop = async () => {
    for (const t of trainers) if (alive(t.child)) (t.child.kill('SIGCONT'), t.child.kill('SIGKILL'));
    if (api && alive(api)) api.kill('SIGKILL');
    await Promise.all(trainers.map((t) => t.exited));
    await proxy.stop();
    await nats.stop();
    await s3.stop();
  };
  try {
    await startApi();
    for (let i = 0; i < o.trainers; i++) addTrainer();
    await Promise.all(trainers.map((t) => t.waitFor((l) => l.event === 'trainer.ready', 120_000)));
    await waitForHealthy(apiUrl);
  } catch (err) {
    await stop();
    throw err;
  }

  const inject = async (f: Fault): Promise<{ hit: boolean }> => {
    const node = nats.nodes[f.target % nats.nodes.length]!;
    switch (f.kind) {
      case 'trainer-kill': {
        const t = live()[f.target % live().length];
        if (!t) return { hit: false };
        t.child.kill('SIGKILL');
        await t.exited;
        await sleep(f.ms);
        await addTrainer().waitFor((l) => l.event === 'trainer.ready', 120_000);
        return { hit: true };
      }
      case 'trainer-stop': {
        const t = live()[f.target % live().length];
        if (!t) return { hit: false };
        t.child.kill('SIGSTOP');
        await sleep(f.ms);
        t.child.kill('SIGCONT');
        return { hit: true };
      }
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
      case 's3-outage': {
        // Starts at the next request (there is one within a second while anything trains).
        let armed = true;
        const started = await Promise.race([
          proxy.outageOnNext(() => armed, f.ms).then(() => true),
          sleep(5_000).then(() => false),
        ]);
        armed = false;
        if (started) await sleep(f.ms);
        proxy.up();
        return { hit: started };
      }
      case 'api-kill': {
        if (api && alive(api)) api.kill('SIGKILL');
        await sleep(f.ms);
        await startApi();
        return { hit: true };
      }
    }
  };

  return {
    nats,
    s3,
    proxy,
    apiUrl,
    trainers,
    inject,
    pids: () => [...(api && alive(api) ? [api.pid!] : []), ...live().map((t) => t.child.pid!)],
    stop,
  };
}
