import { describe, expect, it } from 'vitest';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createApp } from '@mnist/api';
import { MemoryArtifacts, MemoryCluster } from '@mnist/api/testing';
import type { EpochRecord, JobRecord } from '@mnist/protocol';
import { readEnv } from '../../config.js';
import { ApiError } from '@mnist/client';
import { CliError } from '../../errors.js';
import { createOutput } from '../../output.js';
import { CLUSTER_COMMANDS } from './index.js';
import { connectApi } from './api-client.js';
import { watchSweep } from './sweep.js';
import { watchJob } from './watch.js';
import { getEventListeners } from 'node:events';

const TOKEN = 'unit-test-token-0123456789abcdef';
const rec = (epoch: number): EpochRecord => ({
  epoch,
  trainLoss: 0.5 / epoch,
  trainAcc: 0.9,
  testLoss: 0.4 / epoch,
  testAcc: 0.91 + epoch / 100,
  seconds: 1,
  imagesPerSec: 500,
  backend: 'cpu',
});

/** The real API app over in-memory cluster state, called in-process through the CLI's own typed client. */
function harness(
  o: { token?: string; cutStreamsAfter?: number; failPosts?: number; failLists?: number; maxQueued?: number } = {},
) {
  const cluster = new MemoryCluster();
  // One live trainer, so 1-replica jobs are queued (bigger ones would be parked).
  cluster.trainerList = [
    { id: 't0', host: 'h', pid: 1, backend: 'cpu', state: 'idle', startedAt: 'x', lastSeen: new Date().toISOString() },
  ];
  const artifacts = new MemoryArtifacts();
  const app = createApp(
    { cluster, artifacts },
    { ...(o.token && { token: o.token }), ...(o.maxQueued && { maxQueued: o.maxQueued }), sseKeepAliveMs: 50 },
  );
  let streams = 0;
  const eventRequests: Array<string | null> = [];
  const submitKeys: Array<string | null> = [];
  let failPosts = o.failPosts ?? 0;
  let failLists = o.failLists ?? 0;
  const fetchImpl = (async (input: string | URL | Request, init?: RequestInit) => {
    const req = new Request(input, init);
    if (req.url.endsWith('/events')) eventRequests.push(req.headers.get('last-event-id'));
    if (req.method === 'POST' && req.url.endsWith('/v1/jobs')) {
      submitKeys.push(req.headers.get('idempotency-key'));
      // A submit whose job was written, but whose answer was lost (a broker timeout, a proxy).
      if (failPosts-- > 0)
        return (await app.fetch(req), new Response('{"error":"cluster unavailable, try again"}', { status: 503 }));
    }
    // A list answered 503 (a broker restart behind the API).
    if (req.method === 'GET' && new URL(req.url).pathname === '/v1/jobs' && failLists-- > 0)
      return Response.json({ error: 'cluster unavailable, try again' }, { status: 503 });
    const res = await app.fetch(req);
    // Drops the first event stream after some bytes, like a restarting API would.
    if (o.cutStreamsAfter !== undefined && res.headers.get('content-type') === 'text/event-stream' && streams++ === 0) {
      const reader = res.body!.getReader();
      let sent = 0;
      const body = new ReadableStream<Uint8Array>({
        async pull(c) {
          const { done, value } = await reader.read();
          if (done || sent >= o.cutStreamsAfter!) return void (c.close(), reader.cancel());
          const cut = value.subarray(0, o.cutStreamsAfter! - sent);
          sent += cut.length;
          c.enqueue(cut);
        },
      });
      return new Response(body, { status: res.status, headers: res.headers });
    }
    return res;
  }) as typeof fetch;
  const run = async (args: string[], env: Record<string, string> = {}) => {
    let stdout = '';
    let stderr = '';
    const out = createOutput(args.includes('--json'), {
      stdout: { write: (s: string) => ((stdout += s), true) } as never,
      stderr: { write: (s: string) => ((stderr += s), true) } as never,
    });
    const [command, ...rest] = args;
    let code: number;
    try {
      code = await CLUSTER_COMMANDS[command!]!(rest, {
        env: readEnv({ RUNS_DIR: tmp, ...env }),
        out,
        signal: new AbortController().signal,
        fetch: fetchImpl,
      });
    } catch (err) {
      // As main() reports them: CliErrors with their exit code, the client's ApiErrors with 1.
      if (!(err instanceof CliError || err instanceof ApiError)) throw err;
      stderr += `mnist: ${err.message}\n`;
      code = err instanceof CliError ? err.exitCode : 1;
    }
    return { code, stdout, stderr };
  };
  const tmp = mkdtempSync(join(tmpdir(), 'cli-cluster-'));
  return { cluster, artifacts, run, tmp, eventRequests, submitKeys, fetchImpl };
}

/** Plays a trainer: running, epochs 1..n (record + metrics file + event), then the final state. */
async function train(
  h: ReturnType<typeof harness>,
  id: string,
  epochs: number,
  final: 'succeeded' | 'failed' = 'succeeded',
) {
  const tick = () => new Promise((r) => setTimeout(r, 5));
  const put = (patch: Partial<JobRecord>) =>
    h.cluster.put({ ...h.cluster.records.get(id)!, ...patch, updatedAt: new Date().toISOString() });
  put({ state: 'running', attempt: 1, trainers: ['t1', 't2'], backend: 'cpu', startedAt: new Date().toISOString() });
  const records: EpochRecord[] = [];
  for (let e = 1; e <= epochs; e++) {
    await tick();
    h.cluster.emit({ type: 'progress', jobId: id, epoch: e, step: 4, steps: 8, imagesPerSec: 400, loss: 0.3, at: 'x' });
    records.push(rec(e));
    h.artifacts.put(`jobs/${id}/metrics.jsonl`, records.map((r) => JSON.stringify(r) + '\n').join(''));
    put({ epoch: e });
    h.cluster.emit({ type: 'epoch', jobId: id, record: rec(e), at: 'x' });
  }
  await tick();
  put({ state: final, finishedAt: new Date().toISOString(), ...(final === 'failed' && { message: 'trainer lost' }) });
}

describe('cluster verbs against the API app', () => {
  it('submit prints the id; --json the record; bad flags name the flag', async () => {
    const h = harness();
    const r = await h.run(['submit', '--model', 'mlp', '--epochs', '2', '--replicas', '2', '--train-limit', '512']);
    expect(r.code).toBe(0);
    const id = r.stdout.trim();
    expect(h.cluster.records.get(id)!.spec).toMatchObject({ model: 'mlp', epochs: 2, replicas: 2, trainLimit: 512 });
    expect(r.stderr).toContain(`mnist watch ${id}`);
    const parked = await h.run(['submit', '--model', 'mlp', '--replicas', '4']);
    expect(parked.stderr).toContain(
      `job ${parked.stdout.trim()} is PARKED, not running: ` +
        'needs 4 trainers, 1 live; it starts when enough trainers are live',
    );
    h.cluster.records.delete(parked.stdout.trim());
    const j = await h.run(['submit', '--model', 'lenet5', '--json']);
    expect(JSON.parse(j.stdout)).toMatchObject({ state: 'queued', spec: { model: 'lenet5' } });
    expect(await h.run(['submit', '--model', 'mlp', '--replicas', 'two'])).toMatchObject({
      code: 2,
      stderr: "mnist: --replicas expects a number, got 'two'\n",
    });
    expect(await h.run(['submit', '--model', 'mlp', '--replicas', '4', '--min-replicas', '5'])).toMatchObject({
      code: 2,
      stderr: "mnist: --min-replicas '5': minReplicas must not exceed replicas\n",
    });
    const range = await h.run(['submit', '--model', 'mlp', '--replicas', '1:3', '--json']);
    expect(JSON.parse(range.stdout)).toMatchObject({ spec: { minReplicas: 1, replicas: 3 } });
    expect(range.stderr).toContain('1:3 replica(s)');
    h.cluster.records.delete(JSON.parse(range.stdout).id);
    expect(await h.run(['submit', '--model', 'mlp', '--replicas', '1:2', '--batch-per-replica', '32'])).toMatchObject({
      code: 2,
      stderr: expect.stringContaining('a replica range (minReplicas below replicas) needs a fixed global batch'),
    });
    expect((await h.run(['status', '../trainers'])).stderr).toMatch(/^mnist: '..\/trainers' is not a job id/);
    const local = await h.run([
      'submit',
      '--model',
      'lenet5',
      '--replicas',
      '2',
      '--sync',
      'local:16:average',
      '--collective',
      'reduce-scatter',
    ]);
    expect(h.cluster.records.get(local.stdout.trim())!.spec).toMatchObject({
      sync: { every: 16, outer: 'average' },
      collective: 'reduce-scatter',
    });
    expect(await h.run(['submit', '--model', 'mlp', '--sync', 'sometimes'])).toMatchObject({
      code: 2,
      stderr: "mnist: --sync expects step or local:H[:nesterov|average], got 'sometimes'\n",
    });
    expect((await h.run(['submit', '--model', 'mlp', '--sync', 'local:0'])).stderr).toMatch(
      /^mnist: --sync 'local:0': every: Too small/,
    );
    expect((await h.run(['sweep', '--models', 'mlp,resnet'])).stderr).toMatch(
      /^mnist: --models 'mlp,resnet': model must be one of/,
    );
    expect((await h.run(['submit', '--model', 'mlp', '--epochs', '0'])).stderr).toMatch(
      /^mnist: --epochs '0': Too small/,
    );
    expect(h.cluster.records.size).toBe(3);
  });

  it('submit sends an Idempotency-Key and retries a 503 with it: one job, not two', async () => {
    const h = harness({ failPosts: 1 });
    const r = await h.run(['submit', '--model', 'mlp']);
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/submit: HTTP 503; trying again in 1 s \(same Idempotency-Key\)/);
    expect(h.submitKeys).toHaveLength(2);
    expect(h.submitKeys[0]).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-/);
    expect(h.submitKeys[1]).toBe(h.submitKeys[0]);
    expect([...h.cluster.records.keys()]).toEqual([r.stdout.trim()]);
  });

  it('submit --watch prints the seed-style table as epochs arrive and exits 0 on success', async () => {
    const h = harness();
    const pending = h.run(['submit', '--model', 'lenet5', '--epochs', '3', '--watch']);
    await new Promise((r) => setTimeout(r, 30));
    const id = [...h.cluster.records.keys()][0]!;
    await train(h, id, 3);
    const r = await pending;
    expect(r.code).toBe(0);
    expect(r.stdout.trim().split('\n')).toEqual([
      '| Model | Epoch | Train Loss | Train Accuracy | Test Loss | Test Accuracy |',
      '| --- | --- | --- | --- | --- | --- |',
      '| LeNet5 | 1 | 0.5000 | 90.00% | 0.4000 | 92.00% |',
      '|  | 2 | 0.2500 | 90.00% | 0.2000 | 93.00% |',
      '|  | 3 | 0.1667 | 90.00% | 0.1333 | 94.00% |',
    ]);
    expect(r.stderr).toContain(`job ${id}: running on t1, t2 (cpu), attempt 1`);
    expect(r.stderr).toContain(`job ${id} succeeded`);
  });

  it('watch resumes a dropped stream without repeating rows, and exits 1 when the job fails', async () => {
    const h = harness({ cutStreamsAfter: 700 });
    const id = (await h.run(['submit', '--model', 'mlp', '--epochs', '4'])).stdout.trim();
    const pending = h.run(['watch', id, '--json']);
    await train(h, id, 4, 'failed');
    const r = await pending;
    expect(r.code).toBe(1);
    expect(
      r.stdout
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l).epoch),
    ).toEqual([1, 2, 3, 4]);
    // The first stream was cut; the second asked for what came after the last event it had.
    expect(h.eventRequests.length).toBeGreaterThanOrEqual(2);
    expect(h.eventRequests[0]).toBeNull();
    expect(Number(h.eventRequests[1])).toBeGreaterThan(0);
    expect(r.stderr).toContain('failed: trainer lost');
  });

  it('jobs, status, cancel and trainers', async () => {
    const h = harness();
    const id = (await h.run(['submit', '--model', 'mlp'])).stdout.trim();
    expect((await h.run(['jobs'])).stdout).toMatch(
      new RegExp(`^ID +NAME +MODEL +STATE[^\\n]*\\n${id} +- +mlp +queued +0/10 +1 +step +- +- +- `),
    );
    expect(JSON.parse((await h.run(['jobs', '--json', '--state', 'queued'])).stdout)).toHaveLength(1);
    expect((await h.run(['jobs', '--state', 'running'])).stderr).toContain('no running jobs');
    const more = (await h.run(['submit', '--model', 'mlp'])).stdout.trim();
    const limited = await h.run(['jobs', '--json', '--limit', '1']);
    expect(JSON.parse(limited.stdout).map((j: JobRecord) => j.id)).toEqual([more]);
    expect(limited.stderr).toContain('more jobs: raise --limit');
    expect(JSON.parse((await h.run(['jobs', '--json'])).stdout).map((j: JobRecord) => j.id)).toEqual([more, id]);
    expect((await h.run(['cancel', more])).code).toBe(0);
    expect(JSON.parse((await h.run(['status', id, '--json'])).stdout)).toMatchObject({ id, state: 'queued' });
    expect((await h.run(['cancel', id])).stdout.trim()).toBe(`cancelled ${id}`);
    const again = await h.run(['cancel', id]);
    expect(again).toMatchObject({ code: 1, stderr: `mnist: job '${id}' is already cancelled\n` });
    expect((await h.run(['status', 'j-nope'])).stderr).toBe("mnist: job 'j-nope' not found\n");
    h.cluster.trainerList = [
      {
        id: 't1',
        host: 'h',
        pid: 1,
        backend: 'cpu',
        state: 'idle',
        startedAt: 'x',
        lastSeen: new Date().toISOString(),
      },
    ];
    expect((await h.run(['trainers'])).stdout).toMatch(
      /^ID +HOST +BACKEND +STATE +JOB +RANK +LAST SEEN\nt1 +h +cpu +idle +- +- +\d s ago\n$/,
    );
  });

  it('jobs shows names, accuracy, run time, filters by model, tag, sweep; artifacts downloads the files', async () => {
    const h = harness();
    const a = (
      await h.run([
        'submit',
        '--model',
        'mlp',
        '--epochs',
        '2',
        '--name',
        'baseline',
        '--tag',
        'team=vision',
        '--tag',
        'try=1',
        '--sync',
        'local:8',
      ])
    ).stdout.trim();
    const b = (await h.run(['submit', '--model', 'lenet5', '--tag', 'team=vision'])).stdout.trim();
    expect(h.cluster.records.get(a)!.spec).toMatchObject({ name: 'baseline', tags: { team: 'vision', try: '1' } });
    await train(h, a, 2);
    const table = (await h.run(['jobs', '--model', 'mlp'])).stdout;
    expect(table).toMatch(
      new RegExp(`\\n${a} +baseline +mlp +succeeded +2/2 +1 +local:8 +93\\.00% +93\\.00% +\\d+\\.\\d s `),
    );
    expect(table).not.toContain(b);
    const ids = async (...f: string[]) =>
      JSON.parse((await h.run(['jobs', '--json', ...f])).stdout).map((j: JobRecord) => j.id);
    expect(await ids('--tag', 'team=vision')).toEqual([b, a]);
    expect(await ids('--tag', 'team=vision', '--tag', 'try=1')).toEqual([a]);
    expect((await h.run(['jobs', '--tag', 'nokey'])).stderr).toBe(
      "mnist: --tag 'nokey': expects key=value (e.g. --tag team=vision)\n",
    );
    expect((await h.run(['jobs', '--model', 'resnet'])).stderr).toBe(
      "mnist: --model 'resnet': must be one of lenet5, mlp, lenet5-reg\n",
    );
    expect((await h.run(['jobs', '--sweep', 's-none'])).stderr).toBe('no jobs match\n');
    expect((await h.run(['status', a])).stdout).toContain('  name:     baseline; tags team=vision try=1');

    h.artifacts.put(`jobs/${a}/spec.json`, '{}');
    h.artifacts.put(`jobs/${a}/attempts/001/checkpoints/epoch-0002/weights.bin`, 'w');
    const dl = await h.run(['artifacts', a, '--out', join(h.tmp, 'dl')]);
    expect(dl.code, dl.stderr).toBe(0);
    expect(
      readFileSync(join(h.tmp, 'dl', a, 'metrics.jsonl'), 'utf8')
        .trim()
        .split('\n'),
    ).toHaveLength(2);
    expect(existsSync(join(h.tmp, 'dl', a, 'checkpoints', 'epoch-0002', 'weights.bin'))).toBe(true);
    expect(existsSync(join(h.tmp, 'dl', a, 'attempts'))).toBe(false);
    expect(dl.stderr).toMatch(/^downloaded 3 file\(s\)/);
  });

  it('submit -f takes YAML or JSON (flags override it); resubmit repeats a spec; sweep -f takes a grid', async () => {
    const h = harness();
    const yaml = join(h.tmp, 'job.yaml');
    writeFileSync(
      yaml,
      'model: mlp\nepochs: 3\noptimizer: { type: sgd, lr: 0.05 }\n' +
        'sync: { every: 8 }\nname: from yaml\ntags: { src: file }\n',
    );
    const a = (await h.run(['submit', '-f', yaml, '--epochs', '2'])).stdout.trim();
    expect(h.cluster.records.get(a)!.spec).toMatchObject({
      model: 'mlp',
      epochs: 2,
      optimizer: { lr: 0.05 },
      sync: { every: 8 },
      name: 'from yaml',
      tags: { src: 'file' },
    });
    const json = join(h.tmp, 'job.json');
    writeFileSync(json, JSON.stringify({ model: 'lenet5', epochs: 0 }));
    expect((await h.run(['submit', '-f', json])).stderr).toMatch(new RegExp(`^mnist: -f '${json}': epochs: Too small`));
    expect((await h.run(['submit', '-f', json, '--epochs', '1'])).code).toBe(0);
    expect((await h.run(['submit', '-f', join(h.tmp, 'none.yaml')])).stderr).toBe(
      `mnist: -f '${join(h.tmp, 'none.yaml')}': cannot read it (ENOENT)\n`,
    );

    const again = await h.run(['resubmit', a, '--seed', '7', '--lr', '0.02']);
    expect(again.code, again.stderr).toBe(0);
    expect(h.cluster.records.get(again.stdout.trim())!.spec).toMatchObject({
      model: 'mlp',
      epochs: 2,
      seed: 7,
      optimizer: { type: 'sgd', lr: 0.02, momentum: 0.9 },
      name: 'from yaml',
    });

    const grid = join(h.tmp, 'sweep.yml');
    writeFileSync(grid, 'models: [mlp, lenet5]\nseeds: 2\nbase: { epochs: 1, trainLimit: 512 }\n');
    const sweep = await h.run(['sweep', '-f', grid, '--tag', 'grid=yes']);
    expect(sweep.code, sweep.stderr).toBe(0);
    const jobs = [...h.cluster.records.values()].filter((j) => j.spec.sweepId === sweep.stdout.trim());
    expect(jobs).toHaveLength(4);
    expect(jobs[0]!.spec).toMatchObject({ epochs: 1, trainLimit: 512, tags: { grid: 'yes' } });
    expect((await h.run(['sweep', '-f', grid, '--models', 'mlp'])).stderr).toBe(
      'mnist: -f takes the whole sweep from the file; drop --models\n',
    );
  });

  it('report writes the same files as a local run and prints the table; several ids compare', async () => {
    const h = harness();
    const a = (await h.run(['submit', '--model', 'mlp', '--epochs', '2'])).stdout.trim();
    const b = (await h.run(['submit', '--model', 'mlp', '--epochs', '2'])).stdout.trim();
    await train(h, a, 2);
    await train(h, b, 2);
    const one = await h.run(['report', a]);
    expect(one.code).toBe(0);
    expect(one.stdout).toContain('| CustomMLP | 1 | 0.5000 | 90.00% | 0.4000 | 92.00% |');
    for (const f of ['report.md', 'curves.png', 'curves.svg', 'spec.json', 'metrics.jsonl'])
      expect(existsSync(join(h.tmp, a, f)), f).toBe(true);
    expect(readFileSync(join(h.tmp, a, 'report.md'), 'utf8')).toMatch(/^# CustomMLP on mnist/);
    const both = await h.run(['report', a, b, '--out', join(h.tmp, 'cmp')]);
    expect(both.stderr).not.toContain('warning');
    expect(both.stdout).toContain(`| CustomMLP (${a}) | 1 |`);
    const c = (
      await h.run([
        'submit',
        '--model',
        'mlp',
        '--epochs',
        '2',
        '--train-limit',
        '2048',
        '--sync',
        'local:16',
        '--replicas',
        '2',
      ])
    ).stdout.trim();
    await train(h, c, 2);
    const mixed = await h.run(['report', a, c, '--out', join(h.tmp, 'cmp')]);
    expect(mixed.stderr.split('\n').slice(0, 4)).toEqual([
      'warning: these runs differ in more than the model:',
      `  training images: all (CustomMLP (${a})), 2048 (CustomMLP (${c}))`,
      `  replicas: 1 (CustomMLP (${a})), 2 (CustomMLP (${c}))`,
      `  sync: step (CustomMLP (${a})), local SGD every 16 steps (nesterov) (CustomMLP (${c}))`,
    ]);
    const dir = /report: (\S+)report\.md/.exec(mixed.stderr)![1]!;
    expect(readFileSync(join(dir, 'report.md'), 'utf8')).toContain(
      '> **Warning: these runs differ in more than the model**',
    );
    expect(existsSync(join(dir, 'overlay.png'))).toBe(true);
    expect(both.stdout).toContain(`| CustomMLP (${b}) | 1 |`);
    const queued = (await h.run(['submit', '--model', 'mlp'])).stdout.trim();
    expect((await h.run(['report', queued])).stderr).toContain('has no finished epoch yet');
  });

  it('a partly failed sweep: status lists its jobs; report covers the successes, names the missing one', async () => {
    const h = harness();
    const submitted = await h.run([
      'sweep',
      '--models',
      'lenet5,mlp',
      '--seeds',
      '3',
      '--epochs',
      '2',
      '--train-limit',
      '512',
    ]);
    expect(submitted.code, submitted.stderr).toBe(0);
    const id = submitted.stdout.trim();
    const jobs = [...h.cluster.records.values()].filter((j) => j.spec.sweepId === id);
    expect(jobs).toHaveLength(6);
    for (const j of jobs) {
      const failed = j.spec.model === 'mlp' && j.spec.seed === 3;
      const records = [1, 2].map((epoch) => ({
        ...rec(epoch),
        testAcc: (j.spec.model === 'mlp' ? 0.93 : 0.96) + j.spec.seed / 1000 + epoch / 100,
      }));
      if (!failed) h.artifacts.put(`jobs/${j.id}/metrics.jsonl`, records.map((r) => JSON.stringify(r) + '\n').join(''));
      h.cluster.put({
        ...j,
        state: failed ? 'failed' : 'succeeded',
        epoch: failed ? 0 : 2,
        message: failed ? 'trainer lost' : undefined,
      });
    }
    const missing = jobs.find((j) => j.spec.model === 'mlp' && j.spec.seed === 3)!;

    const status = await h.run(['sweep', 'status', id]);
    expect(status.stdout).toMatch(new RegExp(`^sweep ${id}: partial, 6 jobs: 5 succeeded, 1 failed$`, 'm'));
    expect(status.stdout).toMatch(new RegExp(`^${missing.id} +mlp +3 +0.01 +64 +failed +0/2 .*trainer lost$`, 'm'));

    const r = await h.run(['report', id]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain(
      `note: 1 of 6 jobs did not succeed (${missing.id} failed); the report covers the other 5`,
    );
    expect(r.stdout).toMatch(/^\| CustomMLP \| 1 \| 2 \| /m); // 2 seeds of 3
    const md = readFileSync(join(h.tmp, id, 'report.md'), 'utf8');
    expect(md).toContain(`- Job ${missing.id} (mlp, seed 3) is failed (trainer lost): it is not in the figures.`);
    expect(md).toContain(
      '- CustomMLP: seed 3 has no records (failed, cancelled or unfinished); the figures cover seeds 1, 2.',
    );
    expect(md).toMatch(/^\| LeNet5 \| 3 \| 98\.20 ± 0\.10% \|/m);
    expect(md).toContain('**LeNet5 is higher** by 3.05 points');
  });

  it("logs prints every rank's lines, --json the LogLines, --follow until the job ends", async () => {
    const h = harness();
    const id = (await h.run(['submit', '--model', 'mlp', '--epochs', '1'])).stdout.trim();
    expect((await h.run(['logs', id])).stderr).toBe(`job ${id} has no log lines yet\n`);
    h.cluster.addLog(id, {
      event: 'rank.start',
      ts: '2030-01-01T12:03:04.000Z',
      rank: 1,
      trainerId: 't2',
      text: 'rank.start world=2',
    });
    expect((await h.run(['logs', id])).stdout).toBe('12:03:04 a1 r1 t2 info  rank.start world=2\n');
    expect(JSON.parse((await h.run(['logs', id, '--json'])).stdout)).toMatchObject({
      seq: 1,
      rank: 1,
      trainerId: 't2',
      event: 'rank.start',
    });
    const following = h.run(['logs', id, '--follow']);
    await new Promise((r) => setTimeout(r, 30));
    h.cluster.addLog(id, {
      event: 'epoch.done',
      ts: '2030-01-01T12:03:05.000Z',
      level: 'warn',
      text: 'epoch.done epoch=1',
    });
    await train(h, id, 1);
    const r = await following;
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('12:03:04 a1 r1 t2 info  rank.start world=2\n12:03:05 a1 r0 t1 warn  epoch.done epoch=1\n');
  });

  it('watch says once that it lost the API and once that it is back, however many tries it takes', async () => {
    const h = harness();
    const id = (await h.run(['submit', '--model', 'mlp', '--epochs', '1'])).stdout.trim();
    let down = 6;
    const flaky = (async (input: string | URL | Request, init?: RequestInit) => {
      if (String(input instanceof Request ? input.url : input).endsWith('/events') && down-- > 0) {
        throw Object.assign(new TypeError('fetch failed'), { cause: { code: 'ECONNREFUSED' } });
      }
      return h.fetchImpl(input, init);
    }) as typeof fetch;
    let stderr = '';
    const out = createOutput(false, {
      stdout: { write: () => true } as never,
      stderr: { write: (s: string) => ((stderr += s), true) } as never,
    });
    const api = connectApi({}, { env: readEnv({}), fetch: flaky });
    const watching = watchJob({ api, id, out, signal: new AbortController().signal, sleep: async () => undefined });
    await new Promise((r) => setTimeout(r, 30));
    await train(h, id, 1);
    expect((await watching).state).toBe('succeeded');
    expect(stderr.match(/lost the API/g)).toHaveLength(1);
    expect(stderr.match(/reconnected to the API/g)).toHaveLength(1);
  });

  it('sweep watch keeps one abort listener however many times it polls', async () => {
    const h = harness();
    const id = (await h.run(['sweep', '--models', 'mlp', '--epochs', '1'])).stdout.trim();
    const abort = new AbortController();
    let stderr = '';
    const out = createOutput(false, {
      stdout: { write: () => true } as never,
      stderr: { write: (s: string) => ((stderr += s), true) } as never,
    });
    const api = connectApi({}, { env: readEnv({}), fetch: h.fetchImpl });
    const watching = watchSweep(api, id, { env: readEnv({}), out, signal: abort.signal }, 1);
    await new Promise((r) => setTimeout(r, 150));
    expect(getEventListeners(abort.signal, 'abort').length).toBeLessThanOrEqual(1);
    abort.abort();
    expect(await watching).toBe(130);
    expect(stderr).toContain(`sweep ${id}: queued, 1 jobs`);
  });

  it('one clear line when the API is unreachable or refuses the token', async () => {
    const h = harness({ token: TOKEN });
    const noToken = await h.run(['jobs']);
    expect(noToken).toMatchObject({
      code: 1,
      stderr: 'mnist: the API at http://127.0.0.1:8787 needs a token (401): set API_TOKEN or --token\n',
    });
    const wrong = await h.run(['jobs', '--token', 'nope']);
    expect(wrong.stderr).toBe(
      'mnist: the API at http://127.0.0.1:8787 refused the token (401): check API_TOKEN or --token\n',
    );
    expect((await h.run(['jobs'], { API_TOKEN: TOKEN })).code).toBe(0);
  });

  it('read verbs follow the same rules: a 503 is retried (and said), a 404 is not', async () => {
    const h = harness({ failLists: 1 });
    const id = (await h.run(['submit', '--model', 'mlp'])).stdout.trim();
    const r = await h.run(['jobs', '--json']);
    expect(r.code).toBe(0);
    expect(r.stderr).toBe('HTTP 503; trying again in 1 s\n');
    expect(JSON.parse(r.stdout).map((j: JobRecord) => j.id)).toEqual([id]);
    expect(await h.run(['status', 'j-nope'])).toMatchObject({ code: 1, stderr: "mnist: job 'j-nope' not found\n" });
  });

  it('submit: a 401 or a 429 is printed at once, never retried as "cannot reach the API"', async () => {
    const h = harness({ token: TOKEN, maxQueued: 1 });
    const started = Date.now();
    expect(await h.run(['submit', '--model', 'mlp'])).toMatchObject({
      code: 1,
      stderr: 'mnist: the API at http://127.0.0.1:8787 needs a token (401): set API_TOKEN or --token\n',
    });
    expect(h.submitKeys).toHaveLength(1);
    expect((await h.run(['submit', '--model', 'mlp'], { API_TOKEN: TOKEN })).code).toBe(0);
    const full = await h.run(['submit', '--model', 'mlp'], { API_TOKEN: TOKEN });
    expect(full).toMatchObject({
      code: 1,
      stderr:
        'mnist: 1 jobs are waiting, the most this cluster holds (MAX_QUEUED); ' +
        'try again later (429; the API asks to wait 30 s)\n',
    });
    expect(h.submitKeys).toHaveLength(3);
    expect(Date.now() - started).toBeLessThan(1_000);
  });
});
