import { spawn, type ChildProcess } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort, startNatsServer, startS3Server, type NatsServerHandle, type S3ServerHandle } from '@mnist/testing';
// The trainer app's own launcher for real trainer processes (what `npm run cluster` uses).
import { FAST_TEST_ENV, spawnTrainer, waitForHealthy, type TrainerProcess } from '@mnist/dev-cluster';
import { connectNats, ensureClusterResources } from '@mnist/cluster';

const NODE_ENTRY = join(dirname(fileURLToPath(import.meta.url)), '..', 'src', 'node.ts');
const REPO_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

export interface LogLine {
  event: string;
  [k: string]: unknown;
}

export interface ApiProcess {
  url: string;
  child: ChildProcess;
  lines: LogLine[];
  /** Raw stdout+stderr, to check what the server writes (e.g. that no token shows up). */
  output(): string;
  exited: Promise<number | null>;
}

/** Starts `node --import tsx apps/api/src/node.ts` as its own process and waits for `api.listening`. */
export async function spawnApi(env: Record<string, string>, timeoutMs = 30_000): Promise<ApiProcess> {
  const port = await freePort();
  const child = spawn(process.execPath, ['--import', 'tsx', NODE_ENTRY], {
    cwd: REPO_ROOT,
    env: { ...process.env, HOST: '127.0.0.1', LOG_LEVEL: 'debug', ...env, PORT: String(port) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: LogLine[] = [];
  let raw = '';
  let rest = '';
  const listeners = new Set<() => void>();
  child.stdout!.on('data', (d: Buffer) => {
    raw += d.toString();
    const parts = (rest + d.toString()).split('\n');
    rest = parts.pop() ?? '';
    for (const p of parts) {
      try {
        lines.push(JSON.parse(p) as LogLine);
      } catch {
        lines.push({ event: 'stdout', text: p });
      }
    }
    for (const l of listeners) l();
  });
  child.stderr!.on('data', (d: Buffer) => (raw += d.toString()));
  if (process.env.API_LOGS) child.stdout!.pipe(process.stderr);
  const exited = new Promise<number | null>((resolve) => child.once('close', (code) => resolve(code)));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`API did not listen within ${timeoutMs} ms:\n${raw}`)), timeoutMs);
    const check = () => {
      if (!lines.some((l) => l.event === 'api.listening')) return;
      clearTimeout(timer);
      listeners.delete(check);
      resolve();
    };
    listeners.add(check);
    exited.then(
      (code) => (clearTimeout(timer), reject(new Error(`API exited (${code}) during start:\n${raw}`))),
      reject,
    );
  });
  return { url: `http://127.0.0.1:${port}`, child, lines, output: () => raw, exited };
}

export interface TestCluster {
  nats: NatsServerHandle;
  s3: S3ServerHandle;
  /** Environment shared by the API and trainer processes. */
  env: Record<string, string>;
  /** For a test's own S3Store on the same bucket. */
  s3Config: { bucket: string; region: string; endpoint: string; forcePathStyle: boolean };
  trainers: TrainerProcess[];
  apis: ApiProcess[];
  stop(): Promise<void>;
}

/** What a trainer does first: create the broker's streams and buckets, with the test cluster's settings. */
async function createClusterAsOwner(natsUrl: string, env: Record<string, string>): Promise<void> {
  const nc = await connectNats({ servers: [natsUrl], name: 'test-harness' });
  try {
    await ensureClusterResources(nc, {
      trainerTtlMs: Number(env.TRAINER_TTL_MS),
      taskAckWaitMs: Number(env.TASK_ACK_WAIT_MS),
    });
  } finally {
    await nc.close();
  }
}

/** nats-server + s3rver + API processes + trainer processes, all real, on free ports. */
export async function startTestCluster(o: {
  trainers: number;
  apis?: number;
  env?: Record<string, string>;
}): Promise<TestCluster> {
  const nats = await startNatsServer();
  const s3 = await startS3Server();
  const env: Record<string, string> = { ...s3.env, ...FAST_TEST_ENV, NATS_URL: nats.url, ...o.env };
  const apis: ApiProcess[] = [];
  const trainers: TrainerProcess[] = [];
  const stop = async () => {
    for (const t of trainers) if (t.child.exitCode === null && t.child.signalCode === null) t.child.kill('SIGKILL');
    for (const a of apis) if (a.child.exitCode === null && a.child.signalCode === null) a.child.kill('SIGKILL');
    await Promise.all([...trainers.map((t) => t.exited), ...apis.map((a) => a.exited)]);
    await nats.stop();
    await s3.stop();
  };
  try {
    // The APIs start first and wait for the cluster; the trainers create it (they own the
    // streams and buckets). Without trainers the harness stands in as the owner.
    apis.push(await spawnApi(env));
    const more = await Promise.all(Array.from({ length: (o.apis ?? 1) - 1 }, () => spawnApi(env)));
    apis.push(...more);
    for (let i = 0; i < o.trainers; i++) {
      trainers.push(
        spawnTrainer({ id: `t${i + 1}`, env, ...(process.env.TRAINER_LOGS ? { echo: process.stderr } : {}) }),
      );
    }
    await Promise.all(trainers.map((t) => t.waitFor((l) => l.event === 'trainer.ready', 90_000)));
    if (o.trainers === 0) await createClusterAsOwner(nats.url, env);
    await Promise.all(apis.map((a) => waitForHealthy(a.url)));
  } catch (err) {
    await stop();
    throw err;
  }
  const s3Config = { bucket: env.S3_BUCKET!, region: env.S3_REGION!, endpoint: s3.endpoint, forcePathStyle: true };
  return { nats, s3, env, s3Config, trainers, apis, stop };
}
