import { describe, expect, it } from 'vitest';
import { parseJobSpec } from '@mnist/protocol';
import { recipeDifferences } from './recipe-diff.js';

describe('recipeDifferences', () => {
  it("names every differing recipe field with each run's value, and nothing for the model alone", () => {
    const a = { title: 'LeNet5 (a)', spec: parseJobSpec({ model: 'lenet5' }), backend: 'onednn' };
    const b = {
      title: 'CustomMLP (b)',
      spec: parseJobSpec({ model: 'mlp', trainLimit: 2048, batchSize: 128, replicas: 2, sync: { every: 16 } }),
      backend: 'onednn',
    };
    expect(recipeDifferences([a, { ...a, title: 'x', spec: { ...a.spec, model: 'mlp' } }])).toEqual([]);
    expect(recipeDifferences([a, b])).toEqual([
      'training images: all (LeNet5 (a)), 2048 (CustomMLP (b))',
      'batch size: 64 (LeNet5 (a)), 128 (CustomMLP (b))',
      'replicas: 1 (LeNet5 (a)), 2 (CustomMLP (b))',
      'sync: step (LeNet5 (a)), local SGD every 16 steps (nesterov) (CustomMLP (b))',
    ]);
    expect(recipeDifferences([a, { ...a, title: 'c', backend: 'cpu' }])).toEqual([
      'backend: onednn (LeNet5 (a)), cpu (c)',
    ]);
  });
});

describe('a comparison report', () => {
  it('opens with the differences warning and shows an overlay of all runs, drawing a line per run', async () => {
    const { buildReport } = await import('./build-report.js');
    const { renderOverlaySvg } = await import('./overlay-svg.js');
    const rec = (epoch: number, testAcc: number) => ({
      epoch,
      trainLoss: 0.3,
      trainAcc: 0.9,
      testLoss: 0.2,
      testAcc,
      seconds: 1,
      imagesPerSec: 10,
      backend: 'cpu',
    });
    const runs = [
      { title: 'A', model: 'mlp', records: [rec(1, 0.9), rec(2, 0.95)] },
      { title: 'B', model: 'mlp', records: [rec(1, 0.8), rec(2, 0.85)] },
    ];
    const md = buildReport({
      runs,
      meta: { differences: ['batch size: 64 (A), 128 (B)'] },
      overlayPath: 'overlay.png',
    });
    expect(md.split('\n').slice(2, 4)).toEqual([
      '> **Warning: these runs differ in more than the model**, so the comparison below is not like for like:',
      '> - batch size: 64 (A), 128 (B)',
    ]);
    expect(md).toContain('![Test loss and accuracy of all runs on one chart](overlay.png)');
    const svg = renderOverlaySvg(runs);
    for (const colour of ['#0072b2', '#e69f00']) expect(svg).toContain(colour);
    expect(svg).toContain('>A<');
    expect(svg).toContain('>B<');
  });
});
