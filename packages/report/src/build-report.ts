import { artifactKeys, TEST_SET_SIZE, TRAIN_SET_SIZE, type JobSpec } from '@mnist/protocol';
import { compareRuns } from './compare.js';
import { renderComparison } from './comparison-text.js';
import { formatDuration, formatInt } from './format.js';
import { renderMetricsTable } from './metrics-table.js';
import type { ReportMeta, RunMetrics } from './types.js';

export interface ReportInput {
  /** Titles should be unique: the comparison names runs by title. */
  runs: readonly RunMetrics[];
  title?: string;
  meta?: ReportMeta;
  /** Where the markdown links the curves, relative to report.md. */
  imagePath?: string;
  /** Test accuracy that counts as "learned" in the comparison (fraction). */
  threshold?: number;
  /** Where the markdown links the overlay of all runs' test curves (comparisons), relative to report.md. */
  overlayPath?: string;
}

/** The warning a comparison opens with when its runs differ in more than the model. */
export function differencesWarning(differences: readonly string[] | undefined): string[] {
  if (!differences?.length) return [];
  return [
    '> **Warning: these runs differ in more than the model**, so the comparison below is not like for like:',
    ...differences.map((d) => `> - ${d}`),
    '',
  ];
}

const DATASET_TITLES: Record<JobSpec['dataset'], string> = { mnist: 'MNIST', 'fashion-mnist': 'Fashion-MNIST' };

export function describeOptimizer(o: JobSpec['optimizer']): string {
  return o.type === 'sgd'
    ? `SGD (lr ${o.lr}, momentum ${o.momentum})`
    : `Adam (lr ${o.lr}, β1 ${o.beta1}, β2 ${o.beta2}, ε ${o.epsilon})`;
}

/** `seeds` (a seed study's) replaces the spec's one seed. */
export function describeRecipe(spec: JobSpec, seeds?: readonly number[]): string {
  const parts = [
    describeOptimizer(spec.optimizer),
    `batch size ${spec.batchSize}`,
    `${spec.epochs} epoch${spec.epochs === 1 ? '' : 's'}`,
    seeds && seeds.length > 1 ? `seeds ${seeds.join(', ')}` : `seed ${seeds?.[0] ?? spec.seed}`,
  ];
  if (spec.replicas > 1) parts.push(`${spec.replicas} data-parallel replicas`);
  if (spec.sync !== 'step') parts.push(`sync local SGD every ${spec.sync.every} steps (${spec.sync.outer} outer step)`);
  else if (spec.replicas > 1) parts.push('sync every step');
  return parts.join(', ');
}

export function describeDataset(spec: JobSpec): string {
  const part = (limit: number | undefined, total: number, what: string) =>
    limit === undefined || limit >= total
      ? `${formatInt(total)} ${what}`
      : `${formatInt(limit)} of ${formatInt(total)} ${what}`;
  const train = part(spec.trainLimit, TRAIN_SET_SIZE, 'training');
  const test = part(spec.testLimit, TEST_SET_SIZE, 'test');
  return `${DATASET_TITLES[spec.dataset]}, ${train} / ${test} images`;
}

export function headerLines(runs: readonly RunMetrics[], meta: ReportMeta, timeLabel = 'Training time'): string[] {
  const lines = [`- **Models**: ${runs.map((r) => `${r.title} (\`${r.model}\`)`).join(', ') || 'none'}`];
  if (meta.spec) {
    lines.push(`- **Dataset**: ${describeDataset(meta.spec)}`);
    lines.push(`- **Recipe**: ${describeRecipe(meta.spec, meta.seeds)}`);
  }
  const backends = [...new Set(runs.flatMap((r) => r.records.map((rec) => rec.backend)))];
  const backend = meta.backend ?? backends.join(', ');
  if (backend) lines.push(`- **Backend**: ${backend}`);
  // Per-model training time only where the records measured it (the seed fixture did not).
  const timed = runs.flatMap((run) => {
    const seconds = run.records.reduce((sum, r) => sum + r.seconds, 0);
    if (!(seconds > 0)) return [];
    const speeds = run.records.map((r) => r.imagesPerSec).filter((v) => v > 0);
    const mean = speeds.reduce((a, b) => a + b, 0) / speeds.length;
    return [
      `${run.title} ${formatDuration(seconds)}${speeds.length ? ` (${formatInt(Math.round(mean))} images/s)` : ''}`,
    ];
  });
  if (timed.length > 0) lines.push(`- **${timeLabel}**: ${timed.join(', ')}`);
  if (meta.wallSeconds !== undefined) lines.push(`- **Wall time**: ${formatDuration(meta.wallSeconds)}`);
  return lines;
}

/** The whole report as markdown; the curves image is expected next to it (report.md + curves.png). */
export function buildReport(input: ReportInput): string {
  const { runs, meta = {} } = input;
  const title = input.title ?? `MNIST study: ${runs.map((r) => r.title).join(' vs ') || 'no runs'}`;
  const threshold = input.threshold === undefined ? {} : { threshold: input.threshold };
  return [
    `# ${title}`,
    '',
    ...differencesWarning(meta.differences),
    ...headerLines(runs, meta),
    '',
    '## Loss and accuracy at the end of each epoch',
    '',
    renderMetricsTable(runs),
    '## Loss and accuracy curves',
    '',
    ...(input.overlayPath ? [`![Test loss and accuracy of all runs on one chart](${input.overlayPath})`, ''] : []),
    `![Loss and accuracy curves, train vs test](${input.imagePath ?? artifactKeys.curvesPng})`,
    '',
    '## Comparison',
    '',
    renderComparison(compareRuns(runs, threshold)),
  ].join('\n');
}
