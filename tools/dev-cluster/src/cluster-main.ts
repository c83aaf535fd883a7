import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { spawn, type ChildProcess } from 'node:child_process';
import { startNatsCluster, startNatsServer, startS3Server, waitForPort, type S3ServerHandle } from '@mnist/testing';
import { forwardFromOwnProcessGroup } from './own-process-group.js';
import { REPO_ROOT, spawnTrainer, type TrainerProcess } from './spawn-trainer.js';
import { waitForHealthy } from './wait-healthy.js';

const HELP = `Usage: npm run cluster -- [--trainers N] [--port P] [--nats-nodes 1|3|5]

Runs a whole cluster on this machine until Ctrl-C:
  nats-server -js (temporary store)   unless NATS_URL is set; --nats-nodes 3: a JetStream
                                      cluster of 3 with NATS_REPLICAS=3 (any one may die)
  s3rver (temporary folder)           unless S3_ENDPOINT is set
  the API (apps/api/src/node.ts)      when it exists, on --port (default PORT or 8787)
  N trainer processes                 (default 2), logging JSON lines prefixed [tN]
Every other variable (MNIST_BACKEND, MNIST_DIR, TASK_ACK_WAIT_MS...) passes through.`;

const API_ENTRY = join(REPO_ROOT, 'apps', 'api', 'src', 'node.ts');

let nats: { url: string; stop(): Promise<void> } | undefined;
let s3: S3ServerHandle | undefined;
let api: ChildProcess | undefined;
const trainers: TrainerProcess[] = [];

/** Stops whatever was started, trainers first (they drain), servers last. */
async function shutdown(): Promise<void> {
  for (const t of trainers) if (t.child.exitCode === null) t.child.kill('SIGTERM');
  const killLate = setTimeout(() => trainers.forEach((t) => t.child.exitCode === null && t.child.kill('SIGKILL')), 30_000);
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
    options: { trainers: { type: 'string', default: '2' }, port: { type: 'string' }, 'nats-nodes': { type: 'string', default: '1' }, help: { type: 'boolean', short: 'h' } },
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
  if (!Number.isInteger(count) || count < 0 || count > 64) throw new Error(`--trainers must be a whole number 0..64, got '${values.trainers}'`);

  const natsNodes = Number(values['nats-nodes']);
  if (![1, 3, 5].includes(natsNodes)) throw new Error(`--nats-nodes must be 1, 3 or 5, got '${values['nats-nodes']}'`);

  // servers: the ones the environment does not name.
  const env: Record<string, string> = {};
  if (!process.env.NATS_URL) {
    nats = natsNodes > 1 ? await startNatsCluster({ nodes: natsNodes }) : await startNatsServer();
    env.NATS_URL = nats.url;
    if (natsNodes > 1) env.NATS_REPLICAS = String(natsNodes);
  }
  if (!process.env.S3_ENDPOINT) {
    s3 = await startS3Server();
    Object.assign(env, s3.env);
  }

  // API HOOK: apps/api (issue 4) provides src/node.ts; it is started here as soon as it exists.
  let apiProblem = existsSync(API_ENTRY) ? '' : '# apps/api/src/node.ts does not exist yet: no API started (issue 4 adds it).';
  const port = values.port ?? process.env.PORT ?? '8787';
  if (existsSync(API_ENTRY)) {
    const child = spawn(process.execPath, ['--import', 'tsx', API_ENTRY], { cwd: REPO_ROOT, env: { ...process.env, ...env, PORT: port }, stdio: ['ignore', 'inherit', 'inherit'] });
    api = child;
    const exited = new Promise<string>((resolve) => child.once('exit', (code) => resolve(`the API exited during start-up (code ${code})`)));
    const up = await Promise.race([waitForPort(Number(port), 30_000).then(() => undefined, (e: Error) => e.message), exited]);
    if (up === undefined) env.API_URL = `http://127.0.0.1:${port}`;
    else {
      // The trainers are useful without it (jobs can be submitted through @mnist/cluster): carry on.
      apiProblem = `# no API: ${up}; see its output above.`;
      if (child.exitCode === null) child.kill('SIGTERM');
      api = undefined;
    }
  }

  for (let i = 0; i < count; i++) trainers.push(spawnTrainer({ id: `t${i + 1}`, env, echo: process.stdout }));
  await Promise.all(trainers.map((t) => t.waitFor((l) => l.event === 'trainer.ready', 120_000)));
  // The API serves cluster routes once it has seen the trainers' streams and buckets.
  if (env.API_URL && count > 0) await waitForHealthy(env.API_URL);

  const shown = { ...env, NATS_URL: process.env.NATS_URL ?? env.NATS_URL };
  console.log(`\n--- cluster up: ${count} trainer(s). Use these in another shell (Ctrl-C here stops everything):`);
  for (const [k, v] of Object.entries(shown)) if (v !== undefined) console.log(`export ${k}=${v}`);
  if (apiProblem) console.log(apiProblem);
  console.log('---\n');

}

if (!forwardFromOwnProcessGroup()) main().catch(async (err: unknown) => {
  console.error(`cluster: ${(err as Error).message}`);
  await shutdown().catch(() => undefined);
  process.exit(1);
});
