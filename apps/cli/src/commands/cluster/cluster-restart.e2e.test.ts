import { afterAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startCluster, type OneMachineCluster } from '../../../test/one-machine-cluster.js';
import { REPO_ROOT, runMnist } from '../../../test/run-mnist.js';

const TOKEN = 'cli-restart-token-7d1e0c9a';
let cluster: OneMachineCluster | undefined;
afterAll(async () => {
  await cluster?.stop();
}, 60_000);

/** The dev cluster keeps its state in --data: a job, its logs and its artifacts outlive a restart. */
describe('npm run cluster keeps its data across a restart', () => {
  it('a finished job, its logs and artifacts outlive a stop and start; a taken port is refused', async () => {
    cluster = await startCluster({ trainers: 1, token: TOKEN });
    const { env, dataDir } = cluster;
    const args = [
      'submit',
      '--model',
      'mlp',
      '--epochs',
      '1',
      '--train-limit',
      '256',
      '--test-limit',
      '128',
      '--name',
      'keep me',
      '--tag',
      'suite=restart',
      '--watch',
    ];
    const r = await runMnist(args, { env });
    expect(r.code, r.stderr + cluster.log().slice(-2000)).toBe(0);
    const id = /submitted (j-[0-9a-z-]+)/.exec(r.stderr)![1]!;
    expect(JSON.parse((await runMnist(['logs', id, '--json'], { env })).stdout.split('\n')[0]!)).toMatchObject({
      rank: 0,
      trainerId: 't1',
    });

    // A second cluster on the same port says so in one line and starts nothing.
    const port = new URL(env.API_URL!).port;
    const second = spawnSync(
      process.execPath,
      [
        '--import',
        'tsx',
        'tools/dev-cluster/src/cluster-main.ts',
        '--port',
        port,
        '--data',
        mkdtempSync(join(tmpdir(), 'dc-')),
      ],
      { cwd: REPO_ROOT, encoding: 'utf8', timeout: 60_000 },
    );
    expect(second.status).toBe(1);
    expect(second.stderr).toBe(
      `cluster: port ${port} is taken (another cluster or program listens there): ` +
        'stop it, or choose another with --port\n',
    );
    expect(second.stdout).not.toContain('cluster up');

    await cluster.stop();
    cluster = await startCluster({ trainers: 1, token: TOKEN, dataDir, port: Number(port) });
    const status = JSON.parse((await runMnist(['status', id, '--json'], { env })).stdout);
    expect(status).toMatchObject({
      id,
      state: 'succeeded',
      epoch: 1,
      spec: { name: 'keep me', tags: { suite: 'restart' } },
    });
    const listed = JSON.parse((await runMnist(['jobs', '--json', '--tag', 'suite=restart'], { env })).stdout);
    expect(listed.map((j: { id: string }) => j.id)).toEqual([id]);
    expect(listed[0].finalTestAcc).toBeGreaterThan(0);
    expect((await runMnist(['logs', id], { env })).stdout).toMatch(/ a1 r0 t1 /);
    const out = mkdtempSync(join(tmpdir(), 'restart-artifacts-'));
    const dl = await runMnist(['artifacts', id, '--out', out], { env });
    expect(dl.code, dl.stderr).toBe(0);
    expect(readdirSync(join(out, id), { recursive: true })).toContain('metrics.jsonl');
    expect(existsSync(join(dataDir, 'nats'))).toBe(true);
  }, 400_000);
});
