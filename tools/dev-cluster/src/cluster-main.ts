import { existsSync, mkdirSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { spawn, type ChildProcess } from 'node:child_process';
import { startNatsCluster, startNatsServer, startS3Server, type S3ServerHandle } from '@mnist/testing';
import { forwardFromOwnProcessGroup } from './own-process-group.js';
import { REPO_ROOT, spawnTrainer, type TrainerProcess } from './spawn-trainer.js';
import { waitForHealthy } from './wait-healthy.js';
import { assertPortFree, ClusterStartError, probeNats } from './start-checks.js';

const HELP = `Usage: npm run cluster -- [--trainers N] [--port P] [--data DIR] [--fresh] [--nats-nodes 1|3|5]

Runs a whole cluster on this machine until Ctrl-C, keeping its state in --data (default
.cluster/ at the repository root, git-ignored): jobs, sweeps, events and logs (the NATS
JetStream store, DIR/nats) and checkpoints, metrics and reports (the s3rver folder, DIR/s3)
survive a restart. --fresh wipes DIR first.
  nats-server -js (store in DIR/nats)  unless NATS_URL is set (it must answer within 3 s);
                                       --nats-nodes 3: a JetStream cluster of 3 with
                                       NATS_REPLICAS=3 (any one may die; temporary stores)
  s3rver (folder DIR/s3)               unless S3_ENDPOINT is set
  the API (apps/api/src/node.ts)       on 127.0.0.1:--port (default PORT or 8787; HOST=0.0.0.0
                                       to serve other machines, with API_TOKEN set)
  N trainer processes                  (default 2), logging JSON lines prefixed [tN]
A taken port is refused before anything starts. Every other variable (MNIST_BACKEND,
MNIST_DIR, API_TOKEN, TASK_ACK_WAIT_MS...) passes through.`;

/** The default state folder (git-ignored). */
export const DEFAULT_DATA_DIR = join(REPO_ROOT, '.cluster');

const API_ENTRY = join(REPO_ROOT, 'apps', 'api', 'src', 'node.ts');
const API_START_MS = 30_000;

let nats: { url: string; stop(): Promise<void> } | undefined;
let s3: S3ServerHandle | undefined;
let api: ChildProcess | undefined;
const trainers: TrainerProcess[] = [];

/** Stops whatever was started, trainers first (they drain), servers last. */
async function shutdown(): Promise<void> {
  for (const t of trainers) if (t.child.exitCode === null) t.child.kill('SIGTERM');
  const killLate = setTimeout(
    () => trainers.forEach((t) => t.child.exitCode === null && t.child.kill('SIGKILL')),
    30_000,
  );
  await Promise.all(trainers.map((t) => t.exited));
  clearTimeout(killLate);
  if (api && api.exitCode === null) {
    const exited = new Promise((r) => api!.once('exit', r));
    api.kill('SIGTERM');
    await exited;
  }
  await s3?.stop();
  await nats?.stop();
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      trainers: { type: 'string', default: '2' },
      port: { type: 'string' },
      data: { type: 'string' },
      fresh: { type: 'boolean' },
      'nats-nodes': { type: 'string', default: '1' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) return void console.log(HELP);
  // Registered first: Ctrl-C during start-up must not orphan a nats-server child.
  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    console.log('\n--- stopping: draining trainers...');
    await shutdown();
    console.log('--- stopped');
    process.exit(0);
  };
  const onSignal = () => {
    stop().catch((err: unknown) => {
      console.error(`--- shutdown failed: ${(err as Error).message}`);
      process.exit(1);
    });
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  const count = Number(values.trainers);
  if (!Number.isInteger(count) || count < 0 || count > 64)
    throw new Error(`--trainers must be a whole number 0..64, got '${values.trainers}'`);

  const natsNodes = Number(values['nats-nodes']);
  if (![1, 3, 5].includes(natsNodes))
    throw new ClusterStartError(`--nats-nodes must be 1, 3 or 5, got '${values['nats-nodes']}'`);
  const port = values.port ?? process.env.PORT ?? '8787';
  if (!/^\d{1,5}$/.test(port) || Number(port) < 1 || Number(port) > 65535)
    throw new ClusterStartError(`--port must be a port number, got '${port}'`);
  const host = process.env.HOST ?? '127.0.0.1';
  // Before anything starts: a second cluster must not print the first one's address as its own.
  await assertPortFree(Number(port), host);
  if (process.env.NATS_URL) await probeNats(process.env.NATS_URL);

  const dataDir = resolve(values.data ?? DEFAULT_DATA_DIR);
  if (values.fresh) rmSync(dataDir, { recursive: true, force: true });
  mkdirSync(dataDir, { recursive: true });

  // servers: the ones the environment does not name, their state under dataDir.
  const env: Record<string, string> = {};
  if (!process.env.NATS_URL) {
    nats =
      natsNodes > 1
        ? await startNatsCluster({ nodes: natsNodes })
        : await startNatsServer({ storeDir: join(dataDir, 'nats') });
    env.NATS_URL = nats.url;
    if (natsNodes > 1) env.NATS_REPLICAS = String(natsNodes);
  }
  if (!process.env.S3_ENDPOINT) {
    s3 = await startS3Server({ directory: join(dataDir, 's3') });
    Object.assign(env, s3.env);
  }

  if (existsSync(API_ENTRY)) {
    const child = spawn(process.execPath, ['--import', 'tsx', API_ENTRY], {
      cwd: REPO_ROOT,
      env: { ...process.env, ...env, PORT: port, HOST: host },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    api = child;
    // Ours once our own child says it listens on the port: a port taken meanwhile makes it exit instead.
    const listening = new Promise<void>((ok, fail) => {
      let rest = '';
      child.stdout!.on('data', (chunk: Buffer) => {
        const parts = (rest + chunk.toString()).split('\n');
        rest = parts.pop() ?? '';
        for (const line of parts) {
          process.stdout.write(`[api] ${line}\n`);
          if (/"event":"api\.listening"/.test(line) && line.includes(`"port":${port}`)) ok();
        }
      });
      child.once('close', (code) =>
        fail(new ClusterStartError(`the API exited during start-up (code ${code}); see its output above`)),
      );
      setTimeout(
        () => fail(new ClusterStartError(`the API did not listen on port ${port} within ${API_START_MS / 1000} s`)),
        API_START_MS,
      ).unref();
    });
    await listening;
    env.API_URL = `http://${host === '0.0.0.0' ? '127.0.0.1' : host}:${port}`;
  }

  for (let i = 0; i < count; i++) trainers.push(spawnTrainer({ id: `t${i + 1}`, env, echo: process.stdout }));
  await Promise.all(trainers.map((t) => t.waitFor((l) => l.event === 'trainer.ready', 120_000)));
  // The API serves cluster routes once it has seen the trainers' streams and buckets.
  if (env.API_URL && count > 0) await waitForHealthy(env.API_URL);

  if (api && api.exitCode !== null)
    throw new ClusterStartError('the API stopped during start-up; see its output above');

  const shown = { ...env, NATS_URL: process.env.NATS_URL ?? env.NATS_URL };
  console.log(`\n--- cluster up: ${count} trainer(s), state in ${dataDir} (kept across restarts; --fresh wipes it).`);
  console.log('Use these in another shell, then e.g. npx mnist jobs (Ctrl-C here stops everything):');
  for (const [k, v] of Object.entries(shown)) if (v !== undefined) console.log(`export ${k}=${v}`);
  if (!env.API_URL) console.log('# apps/api/src/node.ts does not exist: no API started.');
  console.log('---\n');
}

if (!forwardFromOwnProcessGroup())
  main().catch(async (err: unknown) => {
    console.error(`cluster: ${(err as Error).message}`);
    if (!(err instanceof ClusterStartError) && process.env.DEBUG) console.error((err as Error).stack);
    await shutdown().catch(() => undefined);
    process.exit(1);
  });
