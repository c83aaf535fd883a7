// `npm run test:containers`: the trainer and API images build, and a compose stack of them
// trains jobs. Steps (each timed; a JSON summary at the end):
//   1. infra/ci/prepare-docker.sh: engine + local base images (skip if the engine cannot
//      run here, except with CI=true: then fail);
//   2. build mnist-trainer and mnist-api from infra/Dockerfile.*, and the stack's nats and
//      s3rver images; check the images (non-root, HEALTHCHECK, labels, no compiler, no .git,
//      no dev packages);
//   2b. infra/docker-compose.yml (the shipped, Compose v2 file): secure by default;
//   3. up with 2 trainers (infra/ci/docker-compose.ci.yml, NATS and API with fresh secrets);
//      every container healthy;
//   4. `mnist submit --watch` of a 2-replica job -> succeeded; its artifacts and metrics;
//   5. a second job, elastic (--replicas 1:3) on 1 trainer: scale trainers to 3, it grows to
//      3 ranks; back to 1, it shrinks; it succeeds in its first attempt, every epoch once;
//   6. the broker as a 3-node JetStream cluster (infra/ci/docker-compose.ci-ha.yml): every
//      stream with 3 replicas; the jobs bucket's leader SIGKILLed mid-job, which succeeds in
//      the same attempt;
//   7. down -v (always).
// Run from the repository root. CONTAINERS_KEEP=1 leaves the stack up on failure.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FinalEvalSchema, JobRecordSchema, parseMetricsJsonl, type JobRecord } from '@mnist/protocol';
import { checkShippedCompose } from './shipped-compose.js';
import { must, run, waitFor } from './sh.js';

const DOCKER = '/usr/bin/docker';
const COMPOSE = 'docker-compose';
const PROJECT = 'mnist-ci';
const COMPOSE_FILE = 'infra/ci/docker-compose.ci.yml';
const HA_FILE = 'infra/ci/docker-compose.ci-ha.yml';
const inCi = /^(1|true|yes)$/i.test(process.env.CI ?? '');

const timings: Record<string, number> = {};
async function step<T>(name: string, fn: () => Promise<T>): Promise<T> {
  const t0 = Date.now();
  process.stderr.write(`\n== ${name}\n`);
  try {
    return await fn();
  } finally {
    timings[name] = Math.round((Date.now() - t0) / 100) / 10;
    process.stderr.write(`== ${name}: ${timings[name]} s\n`);
  }
}
const check = (ok: boolean, message: string) => {
  if (!ok) throw new Error(message);
  process.stderr.write(`   ok: ${message}\n`);
};

// The password starts with a digit and a number suffix ('3e...'), which nats.conf's parser
// reads as a number unless quoted: the stack must start with such a password too.
const secrets = { NATS_PASSWORD: `3e${randomBytes(18).toString('hex')}`, API_TOKEN: randomBytes(24).toString('hex') };
// Compose v1 builds through docker-py's legacy builder with these (not a newer CLI's BuildKit).
const composeEnv = { ...secrets, DOCKER_BUILDKIT: '0', COMPOSE_DOCKER_CLI_BUILD: '0' };
const composeWith =
  (files: string[]) =>
  (args: string[], timeoutMs = 180_000) =>
    must(COMPOSE, ['-p', PROJECT, ...files.flatMap((f) => ['-f', f]), ...args], { env: composeEnv, timeoutMs });
/** The stack's compose files: the CI file, then with the HA overlay for the last scenario. */
let compose = composeWith([COMPOSE_FILE]);
// The legacy builder: BuildKit would try to pull `# syntax=` frontends from a registry.
const build = (file: string, tag: string, revision: string) =>
  must(DOCKER, ['build', '-q', '-f', file, '-t', tag, '--build-arg', `REVISION=${revision}`, '.'], {
    env: { DOCKER_BUILDKIT: '0' },
    timeoutMs: 480_000,
  });

let apiUrl = '';
const cli = (args: string[], timeoutMs = 300_000) =>
  run('node', ['apps/cli/bin/mnist.js', ...args], {
    env: { API_URL: apiUrl, API_TOKEN: secrets.API_TOKEN },
    timeoutMs,
  });
async function api<T>(path: string): Promise<T> {
  // A 503 ("cluster unavailable, try again": a broker election) is retried for a while, as a client would.
  for (const deadline = Date.now() + 60_000; ;) {
    const res = await fetch(`${apiUrl}${path}`, {
      headers: { authorization: `Bearer ${secrets.API_TOKEN}` },
      signal: AbortSignal.timeout(10_000),
    });
    if (res.ok) return (await res.json()) as T;
    const text = await res.text();
    if (res.status !== 503 || Date.now() > deadline) throw new Error(`GET ${path}: ${res.status} ${text}`);
    await new Promise((r) => setTimeout(r, 1_000));
  }
}
const job = async (id: string): Promise<JobRecord> => JobRecordSchema.parse(await api(`/v1/jobs/${id}`));
const trainerCount = async () => (await api<{ trainers: unknown[] }>('/v1/trainers')).trainers.length;

async function containers(service: string): Promise<string[]> {
  return (await compose(['ps', '-q', service])).split('\n').filter(Boolean);
}
async function health(id: string): Promise<string> {
  return (
    await must(DOCKER, ['inspect', '-f', '{{if .State.Health}}{{.State.Health.Status}}{{else}}none{{end}}', id])
  ).trim();
}
async function allHealthy(timeoutMs: number): Promise<void> {
  await waitFor(
    'every container healthy',
    timeoutMs,
    async () => {
      const ids = (await compose(['ps', '-q'])).split('\n').filter(Boolean);
      const states = await Promise.all(ids.map(health));
      return states.every((s) => s === 'healthy') ? true : undefined;
    },
    2000,
  );
}

async function prepare(): Promise<'ready' | string> {
  const r = await run('bash', ['infra/ci/prepare-docker.sh'], { echo: '  ', timeoutMs: 600_000 });
  if (r.code === 0) return 'ready';
  if (r.code === 2) {
    const why = r.stdout
      .trim()
      .split('\n')
      .slice(-6)
      .map((l) => l.replace(/^\[prepare-docker\] */, '').trim());
    return `the Docker engine cannot run here: ${why.join(' | ')}`;
  }
  throw new Error(`infra/ci/prepare-docker.sh failed (exit ${r.code})`);
}

async function checkImages(): Promise<void> {
  const inspect = async (image: string, format: string) =>
    (await must(DOCKER, ['image', 'inspect', '-f', format, image])).trim();
  for (const image of ['mnist-trainer', 'mnist-api']) {
    check((await inspect(image, '{{.Config.User}}')) === 'node', `${image} runs as the non-root user node`);
    check(
      (await inspect(image, '{{if .Config.Healthcheck}}{{json .Config.Healthcheck.Test}}{{end}}')) !== '',
      `${image} has a HEALTHCHECK`,
    );
    check(
      (await inspect(image, '{{index .Config.Labels "org.opencontainers.image.title"}}')) === image,
      `${image} has OCI labels`,
    );
  }
  // Only runtime dependencies: no toolchain, no repository metadata, no dev packages.
  const inTrainer = (script: string) =>
    run(DOCKER, ['run', '--rm', '--entrypoint', 'sh', 'mnist-trainer', '-c', script]);
  const tools = await inTrainer('for t in cc gcc g++ make python3; do command -v $t; done; true');
  check(
    tools.code === 0 && tools.stdout.trim() === '',
    `mnist-trainer has no compiler, make or python3${tools.stdout.trim() ? ` (found ${tools.stdout.trim()})` : ''}`,
  );
  const dev = await inTrainer(
    'cd /app; for p in .git node_modules/typescript node_modules/vitest node_modules/turbo ' +
      'node_modules/playwright-core /usr/include/dnnl.hpp; do [ -e $p ] && echo $p; done; true',
  );
  check(
    dev.code === 0 && dev.stdout.trim() === '',
    `mnist-trainer has no .git, dev packages or headers${dev.stdout.trim() ? ` (found ${dev.stdout.trim()})` : ''}`,
  );
  const api = await run(DOCKER, [
    'run',
    '--rm',
    '--entrypoint',
    'sh',
    'mnist-api',
    '-c',
    'cd /app; for p in node_modules/@tensorflow node_modules/@mnist/training ' +
      'node_modules/@mnist/tfjs-backend-onednn; do [ -e $p ] && echo $p; done; true',
  ]);
  const apiFound = api.stdout.trim() ? ` (found ${api.stdout.trim().replace(/\n/g, ', ')})` : '';
  check(api.code === 0 && api.stdout.trim() === '', `mnist-api carries no tfjs and no training code${apiFound}`);
  const addon = await inTrainer('ls packages/tfjs-backend-onednn/build/Release/');
  check(
    addon.stdout.trim() === 'tfjs_onednn.node',
    'mnist-trainer carries the compiled oneDNN addon, nothing else of its build',
  );
}

async function followToSuccess(args: string[], what: string): Promise<string> {
  const r = await cli(args);
  // `mnist submit` names the job it made (ids are j-… or, with an Idempotency-Key, k-…); `mnist watch` is given it.
  const id = /submitted ([jk]-[A-Za-z0-9_-]+)/.exec(r.stderr)?.[1] ?? args.find((a) => /^[jk]-/.test(a));
  check(
    r.code === 0 && r.stderr.includes(`job ${id} succeeded`),
    `${what}: mnist ${args[0]} exits 0, job ${id} succeeded${r.code === 0 ? '' : `\n${r.stderr.slice(-2000)}`}`,
  );
  // A group's data plane: containers reach each other by host name on the compose network.
  if (args.includes('--replicas'))
    check(
      /gradients over direct TCP/.test(r.stderr),
      `${what}: the ranks exchanged gradients over direct TCP between the containers`,
    );
  return id!;
}

async function checkArtifacts(id: string, epochs: number): Promise<void> {
  const { artifacts } = await api<{ artifacts: { key: string }[] }>(`/v1/jobs/${id}/artifacts`);
  const keys = new Set(artifacts.map((a) => a.key));
  const last = `checkpoints/epoch-${String(epochs).padStart(3, '0')}/`;
  for (const k of ['spec.json', 'metrics.jsonl', 'report.md', 'curves.png', 'curves.svg', 'final-eval.json'])
    check(keys.has(k), `${id}: artifact ${k}`);
  check(
    [...keys].some((k) => k.startsWith(last)),
    `${id}: a checkpoint of the last epoch (${last})`,
  );
  const text = async (key: string) => {
    const res = await fetch(`${apiUrl}/v1/jobs/${id}/artifacts/${key}`, {
      headers: { authorization: `Bearer ${secrets.API_TOKEN}` },
      signal: AbortSignal.timeout(10_000),
    });
    if (!res.ok) throw new Error(`artifact ${key}: ${res.status}`);
    return res.text();
  };
  const records = parseMetricsJsonl(await text('metrics.jsonl'));
  check(
    JSON.stringify(records.map((r) => r.epoch)) === JSON.stringify(Array.from({ length: epochs }, (_, i) => i + 1)),
    `${id}: metrics.jsonl has epochs 1..${epochs}, each once (${records.map((r) => r.epoch).join(',')})`,
  );
  const final = FinalEvalSchema.parse(JSON.parse(await text('final-eval.json')));
  check(
    final.epoch === epochs && final.testAcc > 0.5,
    `${id}: final-eval.json at epoch ${final.epoch}, test accuracy ${final.testAcc.toFixed(3)} > 0.5`,
  );
  check(final.backend === 'onednn', `${id}: trained on the image's oneDNN backend (${final.backend})`);
  const out = mkdtempSync(join(tmpdir(), 'containers-report-'));
  try {
    const r = await cli(['report', id, '--out', out], 60_000);
    check(
      r.code === 0 && readFileSync(join(out, id, 'report.md'), 'utf8').startsWith('# CustomMLP on mnist'),
      `${id}: mnist report renders report.md`,
    );
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
}

/** `mnist submit` of an mlp job on 2,048 images (no --watch): its id. */
async function submitMlp(what: string, replicas: string, epochs: number): Promise<string> {
  const r = await cli(
    ['submit', '--model', 'mlp', '--replicas', replicas, '--epochs', String(epochs)].concat([
      '--train-limit',
      '2048',
      '--test-limit',
      '512',
      '--lr',
      '0.05',
    ]),
  );
  check(r.code === 0, `${what} submitted${r.code === 0 ? '' : `: ${r.stderr}`}`);
  return r.stdout.trim();
}

/** A fresh stack with 2 trainers, every container healthy; `apiUrl` is its API's. */
async function upStack(): Promise<void> {
  await compose(['down', '-v', '--remove-orphans']);
  await compose(['up', '-d', '--scale', 'trainer=2']);
  const port = (await compose(['port', 'api', '8787'])).trim().split(':').pop();
  apiUrl = `http://127.0.0.1:${port}`;
  await waitFor('2 trainers registered', 120_000, async () => ((await trainerCount()) === 2 ? true : undefined));
  await allHealthy(120_000);
  check(true, `all containers healthy; API at ${apiUrl}`);
}

async function scenario(): Promise<void> {
  await step('up: nats, s3rver, api, 2 trainers', upStack);

  const epochs1 = 2;
  const id1 = await step('job 1: 2 replicas, mnist submit --watch', () =>
    followToSuccess(
      [
        'submit',
        '--model',
        'mlp',
        '--replicas',
        '2',
        '--epochs',
        String(epochs1),
        '--train-limit',
        '1024',
        '--test-limit',
        '512',
        '--lr',
        '0.05',
        '--watch',
      ],
      'job 1',
    ),
  );
  await step('job 1: artifacts', async () => {
    const r = await job(id1);
    check(r.trainers.length === 2, `job 1 ran on 2 trainers (${r.trainers.join(', ')})`);
    await checkArtifacts(id1, epochs1);
  });

  const epochs2 = 30;
  await step('job 2: a 1:3 job while trainers scale 1 -> 3 -> 1', async () => {
    // One trainer first: it becomes rank 0, and compose's scale-down stops the newer containers,
    // the peers, so the job grows and shrinks in its first attempt (elastic, issue 21).
    await compose(['up', '-d', '--no-recreate', '--scale', 'trainer=1']);
    await waitFor('1 trainer registered', 60_000, async () => ((await trainerCount()) === 1 ? true : undefined), 500);
    const id2 = await submitMlp('job 2', '1:3', epochs2);
    await waitFor('job 2 running', 60_000, async () => ((await job(id2)).state === 'running' ? true : undefined), 250);
    await compose(['up', '-d', '--no-recreate', '--scale', 'trainer=3']);
    const grown = await waitFor(
      'job 2 grown to 3 ranks',
      120_000,
      async () => {
        const j = await job(id2);
        return j.trainers.length === 3 || j.state !== 'running' ? j : undefined;
      },
      500,
    );
    check(
      grown.state === 'running' && grown.trainers.length === 3,
      `job 2 grew to 3 ranks at epoch ${grown.epoch}/${epochs2} (group ${grown.group})`,
    );
    await compose(['up', '-d', '--no-recreate', '--scale', 'trainer=1']);
    check((await containers('trainer')).length === 1, 'scaled down to 1 trainer container');
    await followToSuccess(['watch', id2], 'job 2');
    const done = await job(id2);
    check(
      done.attempt === 1 && done.trainers.length === 1 && done.group > grown.group,
      `job 2 shrank back to 1 rank and succeeded in its first attempt (attempt ${done.attempt}, group ${done.group})`,
    );
    await checkArtifacts(id2, epochs2);
  });
}

/** Each stream's replica count and leader, as one NATS node's monitoring endpoint reports them. */
async function streamsOf(natsService: string): Promise<{ name: string; replicas: number; leader: string }[]> {
  const [id] = await containers(natsService);
  const url = 'http://127.0.0.1:8222/jsz?accounts=true&streams=true&config=true';
  const jsz = JSON.parse(await must(DOCKER, ['exec', id!, 'curl', '-fsS', url])) as {
    account_details?: {
      stream_detail?: { name: string; config: { num_replicas: number }; cluster?: { leader?: string } }[];
    }[];
  };
  return (jsz.account_details ?? []).flatMap((a) =>
    (a.stream_detail ?? []).map((s) => ({
      name: s.name,
      replicas: s.config.num_replicas,
      leader: s.cluster?.leader ?? '',
    })),
  );
}

async function haScenario(): Promise<void> {
  await step('HA up: 3 nats nodes, s3rver, api, 2 trainers', async () => {
    await compose(['down', '-v', '--remove-orphans']);
    compose = composeWith([COMPOSE_FILE, HA_FILE]);
    await upStack();
    const streams = await streamsOf('nats');
    check(
      streams.length >= 4 && streams.every((s) => s.replicas === 3),
      `every stream and bucket has 3 replicas (${streams.map((s) => `${s.name}:R${s.replicas}`).join(', ')})`,
    );
  });

  const epochs = 12;
  await step('HA: the jobs leader SIGKILLed mid-job', async () => {
    const id = await submitMlp('job 3', '2', epochs);
    await waitFor('job 3 past epoch 1', 90_000, async () => ((await job(id)).epoch >= 1 ? true : undefined), 250);
    const leader = (await streamsOf('nats')).find((s) => s.name === 'KV_mnist-jobs')!.leader;
    const service = leader === 'nats-1' ? 'nats' : leader;
    await must(DOCKER, ['kill', '-s', 'KILL', (await containers(service))[0]!]);
    check(true, `killed ${service}, the jobs bucket's leader, at epoch ${(await job(id)).epoch}`);
    await followToSuccess(['watch', id], 'job 3');
    const done = await job(id);
    check(done.attempt === 1, `job 3 succeeded in the same attempt (attempt ${done.attempt})`);
    await checkArtifacts(id, epochs);
    await compose(['start', service]);
    await allHealthy(120_000);
    check(true, `${service} back and healthy`);
  });
}

async function main(): Promise<number> {
  const t0 = Date.now();
  const prepared = await step('prepare: engine and base images', prepare);
  if (prepared !== 'ready') {
    if (inCi) {
      process.stderr.write(`test:containers: FAILED: ${prepared} (CI=true: not skipping)\n`);
      return 1;
    }
    process.stderr.write(`test:containers: SKIPPED: ${prepared}\n`);
    return 0;
  }
  // The image label; a checkout without git (a tarball) builds too.
  const revision = (await run('git', ['rev-parse', 'HEAD']).catch(() => undefined))?.stdout.trim() || 'unknown';
  await step('build: mnist-trainer', () => build('infra/Dockerfile.trainer', 'mnist-trainer', revision));
  await step('build: mnist-api', () => build('infra/Dockerfile.api', 'mnist-api', revision));
  await step('build: nats and s3rver (CI stack)', () => compose(['build', '-q'], 480_000));
  await step('images: what they carry', checkImages);
  await step('shipped compose: secure defaults', () => checkShippedCompose(check));
  const sizes: Record<string, number> = {};
  for (const image of ['mnist-trainer', 'mnist-api']) {
    sizes[image] = Math.round(Number(await must(DOCKER, ['image', 'inspect', '-f', '{{.Size}}', image])) / 1e6);
  }
  let failed = false;
  try {
    await scenario();
    await haScenario();
  } catch (err) {
    failed = true;
    process.stderr.write(`\ntest:containers: FAILED: ${(err as Error).message}\n`);
    const logs = await compose(['logs', '--no-color', '--tail', '40']).catch((e: Error) => e.message);
    process.stderr.write(`--- last log lines of the stack\n${logs}\n`);
  } finally {
    if (!(failed && process.env.CONTAINERS_KEEP === '1'))
      await step('down', () => compose(['down', '-v', '--remove-orphans']));
  }
  const summary = {
    ok: !failed,
    totalSeconds: Math.round((Date.now() - t0) / 1000),
    stepSeconds: timings,
    imageMB: sizes,
  };
  process.stdout.write(`${JSON.stringify(summary)}\n`);
  return failed ? 1 : 0;
}

// A fetch to a port that accepts but never answers holds no ref'd handle: without this the
// event loop could empty mid-test and exit 0 with the test unfinished.
const keepAlive = setInterval(() => undefined, 60_000);
process.on('exit', (code) => {
  if (code === 0 && !finished) {
    process.stderr.write('test:containers: FAILED: exited before finishing\n');
    process.exitCode = 1;
  }
});
let finished = false;
main().then(
  (code) => {
    finished = true;
    clearInterval(keepAlive);
    process.exit(code);
  },
  (err: unknown) => {
    process.stderr.write(`test:containers: FAILED: ${(err as Error).message}\n`);
    process.exit(1);
  },
);
