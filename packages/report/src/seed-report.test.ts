import { describe, expect, it } from 'vitest';
import type { EpochRecord } from '@mnist/protocol';
import { renderCurvesSvg } from './curves-svg.js';
import { buildSeedReport, renderSeedTable } from './seed-report.js';
import { comparePairs, groupOutcome, meanRun, type SeedGroup } from './seeds.js';

/** Three epochs per seed, ending at the given final test accuracy. */
const seedRun = (seed: number, finalAcc: number) => ({
  seed,
  records: [1, 2, 3].map((epoch): EpochRecord => ({
    epoch,
    trainLoss: 0.3 / epoch + seed * 0.001,
    trainAcc: 0.9 + epoch * 0.02,
    testLoss: 0.1 / epoch,
    testAcc: finalAcc - (3 - epoch) * 0.01,
    seconds: 10,
    imagesPerSec: 6000,
    backend: 'onednn',
  })),
});
const group = (title: string, model: string, finals: number[]): SeedGroup => ({
  title,
  model,
  runs: finals.map((acc, i) => seedRun(i + 1, acc)),
});

// The final accuracies of stats.test.ts, whose Welch p-values SciPy gives (A vs B 0.0210,
// A vs C 1.1e-4, B vs C 1.7e-4; D vs A 0.790): Holm keeps all three of A, B, C apart.
const A = group('LeNet5', 'lenet5', [0.9905, 0.9912, 0.9898, 0.9921, 0.9909]);
const B = group('RegularizedLeNet5', 'lenet5-reg', [0.9929, 0.9918, 0.9931, 0.9925, 0.9914]);
const C = group('CustomMLP', 'mlp', [0.9728, 0.9751, 0.9735]);
const D = group('LeNet5 again', 'lenet5', [0.9907, 0.9915, 0.9899, 0.9918, 0.9913]);

describe('seed groups', () => {
  it('averages each epoch over the seeds and keeps the spread', () => {
    const m = meanRun(C);
    expect(m.records.map((r) => r.epoch)).toEqual([1, 2, 3]);
    expect(m.records[2]!.testAcc).toBeCloseTo(0.9738, 12);
    expect(m.spread[2]!.testAcc).toBeCloseTo(0.001178982612255138, 12);
    expect(m.spread[2]!.seeds).toBe(3);
    expect(m.records[0]!.trainLoss).toBeCloseTo(0.3 + 0.002, 12);
  });

  it('Holm-adjusts the pairwise Welch p-values (SciPy: 3.36e-4, 3.46e-4, 0.0210)', () => {
    const pairs = comparePairs([A, B, C].map(groupOutcome));
    const ab = pairs.find((p) => p.lower === 'LeNet5')!;
    expect(ab.higher).toBe('RegularizedLeNet5');
    expect(ab.adjustedP).toBeCloseTo(0.021002505805350173, 10);
    expect(pairs.find((p) => p.higher === 'LeNet5')!.adjustedP).toBeCloseTo(0.00033584643600778944, 10); // 3 x 1.12e-4
    expect(pairs.find((p) => p.lower === 'CustomMLP' && p.higher !== 'LeNet5')!.adjustedP).toBeCloseTo(
      0.0003458083778903223,
      10,
    ); // 2 x 1.73e-4
    expect(pairs.every((p) => p.significant)).toBe(true);
  });
});

describe('buildSeedReport', () => {
  it('has the ± table, the band curves link, intervals and supported conclusions', () => {
    const md = buildSeedReport({ groups: [A, B, C] });
    expect(md).toContain('| Model | Epoch | Seeds | Train Loss | Train Accuracy | Test Loss | Test Accuracy |');
    expect(md).toMatch(
      /\| CustomMLP \| 1 \| 3 \| 0\.3020 ± 0\.0010 \| 92\.00 ± 0\.00% \| 0\.1000 ± 0\.0000 \| 95\.38 ± 0\.12% \|/,
    );
    expect(md).toContain('| CustomMLP | 3 | 97.38 ± 0.12% | 97.09% – 97.67% |');
    expect(md).toContain('- **Seeds per model**: 5 / 3');
    expect(md).toContain('**RegularizedLeNet5 is higher** by 0.14 points');
    expect(md).toContain('Welch t = 2.88 on 7.8 df, p = 0.021, Holm-adjusted 0.021');
    expect(md).not.toContain('cannot tell');
  });

  it('says the runs cannot tell two models apart when the data do not support a difference', () => {
    const md = buildSeedReport({ groups: [A, D] });
    expect(md).toContain('**the runs cannot tell these models apart**');
    expect(md).toContain('p = 0.790');
    expect(md).toContain('| LeNet5 again | LeNet5 | +0.01 |');
    expect(md).not.toContain('is higher**');
  });

  it('claims nothing from one seed each, and names missing seeds', () => {
    const one = buildSeedReport({ groups: [group('LeNet5', 'lenet5', [0.99]), group('CustomMLP', 'mlp', [0.97])] });
    expect(one).toContain('a test needs at least two seeds of each model');
    expect(one).toContain('| cannot test |');
    const partial = { ...A, runs: [...A.runs, { seed: 6, records: [] }] };
    const md = buildSeedReport({ groups: [partial, B] });
    expect(md).toContain(
      '- LeNet5: seed 6 has no records (failed, cancelled or unfinished); the figures cover seeds 1, 2, 3, 4, 5.',
    );
    expect(md).toContain('| LeNet5 | 5 |');
  });

  it('draws a band per series around the mean curves', () => {
    const svg = renderCurvesSvg([A, B, C].map(meanRun));
    expect(svg).toContain('mean ± std over seeds');
    expect(svg.match(/<polygon /g)).toHaveLength(3 * 4); // 3 models x 2 panels x (train, test)
    expect(
      renderSeedTable([A])
        .split('\n')
        .filter((l) => l.startsWith('|')),
    ).toHaveLength(2 + 3);
  });
});
