import { describe, expect, it } from 'vitest';
import { parseJobSpec } from '@mnist/protocol';
import { buildReport, describeDataset, describeRecipe } from './build-report.js';
import { seedCustomMLP, seedLeNet5 } from './seed-fixture.js';

describe('buildReport', () => {
  const runs = [seedLeNet5(), seedCustomMLP()];

  it('puts the header, table, curves link and comparison in order', () => {
    const md = buildReport({
      runs,
      title: 'Seed study',
      meta: { spec: parseJobSpec({ model: 'lenet5' }), backend: 'tensorflow (GPU)', wallSeconds: 754 },
    });
    expect(md.startsWith('# Seed study\n')).toBe(true);
    expect(md).toContain('- **Models**: LeNet5 (`lenet5`), CustomMLP (`mlp`)');
    expect(md).toContain('- **Dataset**: MNIST, 60,000 training / 10,000 test images');
    expect(md).toContain('- **Recipe**: SGD (lr 0.01, momentum 0.9), batch size 64, 10 epochs, seed 1');
    expect(md).toContain('- **Backend**: tensorflow (GPU)');
    expect(md).toContain('- **Wall time**: 12 min 34 s');
    expect(md).not.toContain('Training time'); // the seed fixture has no timings
    const order = [
      '| Model | Epoch |',
      '| LeNet5 | 1 | 0.2902 | 90.47% | 0.0653 | 97.93% |',
      '![',
      '(curves.png)',
      '## Comparison',
      'generalises better',
    ];
    const positions = order.map((s) => md.indexOf(s));
    expect(positions.every((p) => p >= 0)).toBe(true);
    expect([...positions].sort((a, b) => a - b)).toEqual(positions);
  });

  it('falls back to the records for the backend and reports measured time', () => {
    const timed = runs.map((r) => ({
      ...r,
      records: r.records.map((rec) => ({ ...rec, backend: 'wasm', seconds: 30, imagesPerSec: 2000 })),
    }));
    const md = buildReport({ runs: timed, imagePath: 'img/c.png' });
    expect(md).toContain('# MNIST study: LeNet5 vs CustomMLP');
    expect(md).toContain('- **Backend**: wasm');
    expect(md).toContain(
      '- **Training time**: LeNet5 5 min 00 s (2,000 images/s), CustomMLP 5 min 00 s (2,000 images/s)',
    );
    expect(md).toContain('(img/c.png)');
    expect(md).not.toContain('Dataset');
  });

  it('handles a single one-epoch run', () => {
    const lenet = seedLeNet5();
    const md = buildReport({ runs: [{ ...lenet, records: lenet.records.slice(0, 1) }] });
    expect(md).toContain('| LeNet5 | 1 | 0.2902 | 90.47% | 0.0653 | 97.93% |');
    expect(md).toContain('Only one run (LeNet5)');
  });
});

describe('recipe and dataset lines', () => {
  it('describe Adam, replicas and subsets', () => {
    const spec = parseJobSpec({
      model: 'mlp',
      dataset: 'fashion-mnist',
      optimizer: { type: 'adam' },
      epochs: 1,
      replicas: 2,
      trainLimit: 6000,
      testLimit: 1000,
    });
    expect(describeRecipe(spec)).toBe(
      'Adam (lr 0.001, β1 0.9, β2 0.999, ε 1e-8), batch size 64, 1 epoch, seed 1, ' +
        '2 data-parallel replicas, sync every step',
    );
    expect(describeDataset(spec)).toBe('Fashion-MNIST, 6,000 of 60,000 training / 1,000 of 10,000 test images');
  });
});
