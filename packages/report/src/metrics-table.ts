import { escapeCell, formatLoss, formatPercent } from './format.js';
import { orderedRecords } from './records.js';
import type { RunMetrics } from './types.js';

const HEADER = ['Model', 'Epoch', 'Train Loss', 'Train Accuracy', 'Test Loss', 'Test Accuracy'] as const;

const row = (cells: readonly string[]): string => `| ${cells.join(' | ')} |`;

/**
 * The seed study's per-epoch table: one block per run, the model's title on the first
 * row of its block only, losses to 4 decimals, accuracies as percentages to 2.
 * A run without records still gets a row, so it is visibly present but empty.
 */
export function renderMetricsTable(runs: readonly RunMetrics[]): string {
  const lines = [row(HEADER), row(HEADER.map(() => '---'))];
  for (const run of runs) {
    const records = orderedRecords(run.records);
    if (records.length === 0) {
      lines.push(row([escapeCell(run.title), '–', '–', '–', '–', '–']));
      continue;
    }
    records.forEach((r, i) => {
      lines.push(
        row([
          i === 0 ? escapeCell(run.title) : '',
          String(r.epoch),
          formatLoss(r.trainLoss),
          formatPercent(r.trainAcc),
          formatLoss(r.testLoss),
          formatPercent(r.testAcc),
        ]),
      );
    });
  }
  return lines.join('\n') + '\n';
}
