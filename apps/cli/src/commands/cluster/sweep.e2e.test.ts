import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startCluster, type OneMachineCluster } from '../../../test/one-machine-cluster.js';
import { runMnist } from '../../../test/run-mnist.js';

const TOKEN = 'cli-sweep-e2e-token-8d21f7c03a95';
let cluster: OneMachineCluster | undefined;
const mnist = (args: string[]) => runMnist(args, { env: cluster!.env });

beforeAll(async () => {
  cluster = await startCluster({ trainers: 2, token: TOKEN });
}, 150_000);

afterAll(async () => {
  await cluster?.stop();
}, 60_000);

describe('sweeps on a 2-trainer cluster', () => {
  it('a 6-job sweep (2 models x 3 seeds) runs to success, and mnist report gives the seed-study report', async () => {
    const r = await mnist([
      'sweep',
      '--models',
      'mlp,lenet5',
      '--seeds',
      '3',
      '--epochs',
      '2',
      '--train-limit',
      '512',
      '--test-limit',
      '256',
      '--lr',
      '0.05',
      '--watch',
    ]);
    expect(r.code, r.stderr + cluster!.log().slice(-2000)).toBe(0);
    const id = r.stdout.trim();
    expect(id).toMatch(/^s-[a-z0-9]+-[a-z0-9]+$/);
    expect(r.stderr).toContain(`submitted sweep ${id}: 6 jobs`);
    expect(r.stderr).toContain(`sweep ${id}: succeeded, 6 jobs: 6 succeeded`);

    const status = await mnist(['sweep', 'status', id]);
    expect(status.stdout.split('\n').filter((l) => / succeeded +2\/2 /.test(l))).toHaveLength(6);
    // Both trainers took jobs: the sweep spread over the fleet.
    const trainers = new Set(
      status.stdout
        .split('\n')
        .filter((l) => l.startsWith('j-'))
        .map((l) => l.split(/\s{2,}/)[7]),
    );
    expect([...trainers].sort()).toEqual(['t1', 't2']);

    const out = mkdtempSync(join(tmpdir(), 'cli-sweep-'));
    const report = await mnist(['report', id, '--out', out]);
    expect(report.code, report.stderr).toBe(0);
    expect(report.stdout).toMatch(/^\| CustomMLP \| 1 \| 3 \| \d\.\d{4} ± \d\.\d{4} \|/m);
    const md = readFileSync(join(out, id, 'report.md'), 'utf8');
    expect(md).toContain('- **Recipe**: SGD (lr 0.05, momentum 0.9), batch size 64, 2 epochs, seeds 1, 2, 3');
    expect(md).toMatch(/^\| LeNet5 \| 3 \| \d+\.\d{2} ± \d+\.\d{2}% \| \d+\.\d{2}% – \d+\.\d{2}% \|/m);
    expect(md).toMatch(/Welch t = -?\d+\.\d{2} on \d+\.\d df/);
    expect(readFileSync(join(out, id, 'curves.svg'), 'utf8').match(/<polygon /g)).toHaveLength(2 * 4);
  }, 240_000);

  it('cancel stops a whole sweep; its report says there is nothing finished', async () => {
    const r = await mnist([
      'sweep',
      '--models',
      'lenet5',
      '--seeds',
      '4',
      '--epochs',
      '50',
      '--train-limit',
      '4096',
      '--test-limit',
      '256',
    ]);
    expect(r.code, r.stderr).toBe(0);
    const id = r.stdout.trim();
    const cancel = await mnist(['sweep', 'cancel', id]);
    expect(cancel.code, cancel.stderr).toBe(0);
    expect(cancel.stdout.trim()).toBe(`sweep ${id}: cancelled, 4 jobs: 4 cancelled`);
    const status = await mnist(['sweep', 'status', id, '--json']);
    const summary = JSON.parse(status.stdout) as { state: string; jobs: Array<{ state: string; message?: string }> };
    expect(summary.state).toBe('cancelled');
    expect(summary.jobs.every((j) => j.state === 'cancelled' && j.message === `sweep ${id} cancelled`)).toBe(true);
    const report = await mnist(['report', id]);
    expect(report.code).toBe(1);
    expect(report.stderr).toBe(`mnist: sweep ${id} (cancelled) has no succeeded job yet: nothing to report\n`);
    expect((await mnist(['sweep', 'list'])).stdout).toMatch(new RegExp(`\\n${id} +cancelled +4 +0 `));
  }, 60_000);

  it('a grid over the limit is refused before anything is submitted', async () => {
    const r = await mnist(['sweep', '--models', 'lenet5,mlp,lenet5-reg', '--seeds', '40']);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe('mnist: (grid): 120 jobs (3 models x 40 seeds) is over the limit of 100 jobs per sweep\n');
  }, 60_000);
});
