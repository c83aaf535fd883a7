import { escapeCell, formatLoss, formatPercent } from './format.js';
import { orderedRecords } from './records.js';
import type { EpochRecord } from '@mnist/protocol';
import type { RunMetrics } from './types.js';

const HEADER = ['Model', 'Epoch', 'Train Loss', 'Train Accuracy', 'Test Loss', 'Test Accuracy'] as const;

const row = (cells: readonly string[]): string => `| ${cells.join(' | ')} |`;

/** The table's two header lines (for printing rows as epochs finish). */
export const renderMetricsHeader = (): string => `${row(HEADER)}\n${row(HEADER.map(() => '---'))}`;

/** One epoch's row; `title` is the model's title on a block's first row, '' after it. */
export function renderMetricsRow(title: string, r: EpochRecord): string {
  return row([
    escapeCell(title),
    String(r.epoch),
    formatLoss(r.trainLoss),
    formatPercent(r.trainAcc),
    formatLoss(r.testLoss),
    formatPercent(r.testAcc),
  ]);
}

/**
 * The seed study's per-epoch table: one block per run, the model's title on the first
 * row of its block only, losses to 4 decimals, accuracies as percentages to 2.
 * A run without records still gets a row, so it is visibly present but empty.
 */
export function renderMetricsTable(runs: readonly RunMetrics[]): string {
  const lines = [renderMetricsHeader()];
  for (const run of runs) {
    const records = orderedRecords(run.records);
    if (records.length === 0) {
      lines.push(row([escapeCell(run.title), '–', '–', '–', '–', '–']));
      continue;
    }
    records.forEach((r, i) => lines.push(renderMetricsRow(i === 0 ? run.title : '', r)));
  }
  return lines.join('\n') + '\n';
}
