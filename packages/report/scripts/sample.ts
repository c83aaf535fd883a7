/**
 * Renders the seed study's numbers to /tmp/report-sample (or the folder given as the
 * first argument) so the report and figure can be looked at without training anything.
 *   npx tsx scripts/sample.ts [outDir]           the three seed models
 *   npx tsx scripts/sample.ts [outDir] --two     LeNet5 vs CustomMLP (the seed's section 3)
 *   npx tsx scripts/sample.ts [outDir] --edge    a 1-epoch run and a run with missing epochs
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseJobSpec } from '@mnist/protocol';
import { buildReport, renderCurvesPng, renderCurvesSvg, type RunMetrics } from '../src/index.js';
import { seedCustomMLP, seedLeNet5, seedRuns } from '../src/seed-fixture.js';

function edgeRuns(): RunMetrics[] {
  const mlp = seedCustomMLP();
  const lenet = seedLeNet5();
  return [
    { ...lenet, title: 'LeNet5 (1 epoch)', records: lenet.records.slice(0, 1) },
    {
      ...mlp,
      title: 'CustomMLP (epochs 4, 7 missing)',
      records: mlp.records.filter((r) => r.epoch !== 4 && r.epoch !== 7),
    },
  ];
}

const args = process.argv.slice(2);
const outDir = args.find((a) => !a.startsWith('--')) ?? '/tmp/report-sample';
const runs = args.includes('--two')
  ? [seedLeNet5(), seedCustomMLP()]
  : args.includes('--edge')
    ? edgeRuns()
    : seedRuns();

await mkdir(outDir, { recursive: true });
const report = buildReport({
  runs,
  title: 'MNIST study (seed numbers)',
  meta: { spec: parseJobSpec({ model: 'lenet5' }), wallSeconds: 1234 },
});
await writeFile(join(outDir, 'report.md'), report);
await writeFile(join(outDir, 'curves.svg'), renderCurvesSvg(runs));
await writeFile(join(outDir, 'curves.png'), renderCurvesPng(runs));
console.log(`wrote ${outDir}/{report.md,curves.png,curves.svg}`);
