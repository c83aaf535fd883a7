import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '@mnist/testing';
import { startCluster, type OneMachineCluster } from '../../../test/one-machine-cluster.js';
import { runMnist } from '../../../test/run-mnist.js';

const TOKEN = 'cli-e2e-token-31c8a0f2b7d4e6';

const mnist = (args: string[], env: Record<string, string> = {}) => runMnist(args, { env });

/** `npm run cluster -- --trainers 2`: nats-server, s3rver, the API and two trainers, until SIGTERM. */
let cluster: OneMachineCluster | undefined;
let env: Record<string, string>;

beforeAll(async () => {
  cluster = await startCluster({ trainers: 2, token: TOKEN });
  env = cluster.env;
}, 150_000);

afterAll(async () => {
  await cluster?.stop();
}, 60_000);

describe('the cluster verbs on the one-machine cluster', () => {
  let id: string;
  let table: string;

  it('mnist submit --watch runs a 2-replica job to success and prints the seed-style table', async () => {
    const r = await mnist(
      [
        'submit',
        '--model',
        'mlp',
        '--replicas',
        '2',
        '--epochs',
        '2',
        '--train-limit',
        '1024',
        '--test-limit',
        '256',
        '--lr',
        '0.05',
        '--watch',
      ],
      env,
    );
    expect(r.code, r.stderr).toBe(0);
    id = /submitted (j-[0-9a-z]+-[0-9a-z]{10})/.exec(r.stderr)![1]!;
    const lines = r.stdout.trim().split('\n');
    expect(lines.slice(0, 2)).toEqual([
      '| Model | Epoch | Train Loss | Train Accuracy | Test Loss | Test Accuracy |',
      '| --- | --- | --- | --- | --- | --- |',
    ]);
    expect(lines[2]).toMatch(/^\| CustomMLP \| 1 \| \d\.\d{4} \| \d+\.\d\d% \| \d\.\d{4} \| \d+\.\d\d% \|$/);
    expect(lines[3]).toMatch(/^\| {2}\| 2 \| /);
    expect(lines).toHaveLength(4);
    expect(r.stderr).toMatch(new RegExp(`job ${id}: running on t[12], t[12]`));
    expect(r.stderr).toContain(`job ${id} succeeded`);
    table = r.stdout.trim();
  }, 180_000);

  it('mnist report renders the job: the same rows, and report.md with its curves', async () => {
    const out = mkdtempSync(join(tmpdir(), 'cli-report-'));
    const r = await mnist(['report', id, '--out', out], env);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.trim()).toBe(table);
    const md = readFileSync(join(out, id, 'report.md'), 'utf8');
    expect(md).toMatch(/^# CustomMLP on mnist/);
    expect(md).toContain('2 data-parallel replicas');
    expect(md).toContain(table.split('\n')[2]!);
    expect(existsSync(join(out, id, 'curves.png'))).toBe(true);
  }, 60_000);

  it('status, jobs, trainers and cancel', async () => {
    const status = await mnist(['status', id, '--json'], env);
    expect(JSON.parse(status.stdout)).toMatchObject({ id, state: 'succeeded', epoch: 2, spec: { replicas: 2 } });
    expect((await mnist(['jobs'], env)).stdout).toMatch(
      new RegExp(`\\n${id} +- +mlp +succeeded +2/2 +2 +step +\\d+\\.\\d\\d% `),
    );
    expect((await mnist(['trainers'], env)).stdout).toMatch(/\nt1 .*\nt2 /);
    const cancel = await mnist(['cancel', id], env);
    expect(cancel.code).toBe(1);
    expect(cancel.stderr).toBe(`mnist: job '${id}' is already succeeded\n`);
  }, 60_000);

  it('one clear line for a wrong token or an unreachable API', async () => {
    const wrong = await mnist(['jobs', '--token', 'not-the-token'], env);
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toBe(`mnist: the API at ${env.API_URL} refused the token (401): check API_TOKEN or --token\n`);
    const port = await freePort();
    const down = await mnist(['jobs'], { API_URL: `http://127.0.0.1:${port}` });
    expect(down.code).toBe(1);
    expect(down.stderr).toBe(
      `mnist: cannot reach the API at http://127.0.0.1:${port} (ECONNREFUSED): ` +
        'is it running? Set API_URL or --api-url\n',
    );
  }, 60_000);
});
