import type { Comparison, RunSummary } from './compare.js';
import { escapeCell, formatLoss, formatPercent, formatPoints } from './format.js';

type Complete = RunSummary & Required<Pick<RunSummary, 'first' | 'final' | 'bestTestAcc' | 'bestTestLoss'>>;

const isComplete = (s: RunSummary): s is Complete => !!(s.first && s.final && s.bestTestAcc && s.bestTestLoss);
const bold = (text: string) => `**${text}**`;
const plural = (n: number, word: string) => `${word}${n === 1 ? '' : 's'}`;
const pct = (threshold: number) => `${+(threshold * 100).toFixed(2)}%`;
const listAnd = (items: readonly string[]) =>
  items.length <= 1 ? (items[0] ?? '') : `${items.slice(0, -1).join(', ')} and ${items.at(-1)}`;
/** Equal as printed (to 0.01 percentage points). */
const level = (fractionDelta: number) => Math.round(fractionDelta * 10_000) === 0;

function trainLine({ title, first, final }: Complete): string {
  const acc = (r: Complete['final']) => formatPercent(r.trainAcc);
  const loss = (r: Complete['final']) => formatLoss(r.trainLoss);
  if (first === final) {
    return `- ${bold(title)}: after epoch ${final.epoch}, train accuracy ${acc(final)}, train loss ${loss(final)}.`;
  }
  return (
    `- ${bold(title)}: train accuracy rises from ${acc(first)} (epoch ${first.epoch}) to ${acc(final)} ` +
    `(epoch ${final.epoch}); train loss goes from ${loss(first)} to ${loss(final)}.`
  );
}

function testLine(s: Complete, threshold: number): string {
  const { first, final, bestTestAcc: bestAcc, bestTestLoss: bestLoss } = s;
  const reach =
    s.firstEpochAtThreshold === undefined
      ? `It never reaches ${pct(threshold)}.`
      : `It first reaches ${pct(threshold)} at epoch ${s.firstEpochAtThreshold}.`;
  if (first === final) {
    const values = `test accuracy ${formatPercent(final.testAcc)}, test loss ${formatLoss(final.testLoss)}`;
    return `- ${bold(s.title)}: ${values}. ${reach}`;
  }
  return (
    `- ${bold(s.title)}: test accuracy goes from ${formatPercent(first.testAcc)} to ${formatPercent(final.testAcc)} ` +
    `(best ${formatPercent(bestAcc.value)} at epoch ${bestAcc.epoch}); ` +
    `test loss from ${formatLoss(first.testLoss)} to ${formatLoss(final.testLoss)} ` +
    `(lowest ${formatLoss(bestLoss.value)} at epoch ${bestLoss.epoch}). ${reach}`
  );
}

function summaryTable(runs: readonly RunSummary[], threshold: number): string[] {
  const header = [
    'Model',
    'Final Test Accuracy',
    'Best Test Accuracy',
    `First Epoch ≥ ${pct(threshold)}`,
    'Train−Test Accuracy Gap',
    'Final Test Loss',
    'Best Test Loss',
    'Test−Train Loss Gap',
  ];
  const row = (cells: readonly string[]) => `| ${cells.join(' | ')} |`;
  const lines = [row(header), row(header.map(() => '---'))];
  for (const s of runs) {
    const cells = isComplete(s)
      ? [
          formatPercent(s.final.testAcc),
          `${formatPercent(s.bestTestAcc.value)} (epoch ${s.bestTestAcc.epoch})`,
          s.firstEpochAtThreshold === undefined ? 'never' : String(s.firstEpochAtThreshold),
          `${formatPoints(s.accuracyGap ?? 0)} pts`,
          formatLoss(s.final.testLoss),
          `${formatLoss(s.bestTestLoss.value)} (epoch ${s.bestTestLoss.epoch})`,
          formatLoss(s.lossGap ?? 0),
        ]
      : header.slice(1).map(() => '–');
    lines.push(row([escapeCell(s.title), ...cells]));
  }
  return lines;
}

function generalisation(c: Comparison, byTitle: Map<string, Complete>): string[] {
  const leader = byTitle.get(c.ranking[0] ?? '');
  if (!leader || c.margins.length === 0) return [];
  const leaderAcc = formatPercent(leader.final.testAcc);
  if (c.margins.every((m) => level(m.accuracyDelta))) {
    return [`- ${bold('Generalisation')}: ${listAnd(c.ranking)} end level at ${leaderAcc} test accuracy.`];
  }
  const word = c.margins.length === 1 ? 'better' : 'best';
  const lines = [`- ${bold(`${leader.title} generalises ${word}`)}, with ${leaderAcc} final test accuracy:`];
  for (const m of c.margins) {
    const other = byTitle.get(m.worse);
    if (!other) continue;
    const otherAcc = formatPercent(other.final.testAcc);
    if (level(m.accuracyDelta)) {
      lines.push(`  - vs ${other.title}: level, also ${otherAcc}.`);
      continue;
    }
    lines.push(
      `  - vs ${other.title} (${otherAcc}): +${formatPoints(m.accuracyDelta)} percentage points; ` +
        `test error ${formatPercent(1 - other.final.testAcc)} → ${formatPercent(1 - leader.final.testAcc)}, ` +
        `${(m.errorReduction * 100).toFixed(1)}% fewer misclassified test images.`,
    );
  }
  return lines;
}

function learningSpeed(c: Comparison, byTitle: Map<string, Complete>): string[] {
  const ordered = c.speedRanking.map((t) => byTitle.get(t)).filter((s): s is Complete => !!s);
  const [fastest] = ordered;
  if (!fastest || ordered.length < 2) return [];
  const head = `- ${bold(`${fastest.title} learns ${ordered.length === 2 ? 'faster' : 'fastest'}`)}: `;
  const firstAcc = ordered.map((s) => `${s.title} ${formatPercent(s.first.testAcc)}`).join(', ');
  if (fastest.firstEpochAtThreshold === undefined) {
    return [
      `${head}no run reaches ${pct(c.threshold)} test accuracy, ` +
        `so this rests on test accuracy after the first recorded epoch: ${firstAcc}.`,
    ];
  }
  const reached = ordered.map((s) =>
    s.firstEpochAtThreshold === undefined
      ? `${s.title} never does (best ${formatPercent(s.bestTestAcc.value)} in ${s.epochs} ${plural(s.epochs, 'epoch')})`
      : `${s.title} at epoch ${s.firstEpochAtThreshold}`,
  );
  return [
    `${head}${pct(c.threshold)} test accuracy is reached by ${reached.join('; ')}. ` +
      `Test accuracy after the first recorded epoch: ${firstAcc}.`,
  ];
}

function overfitting(runs: readonly Complete[]): string[] {
  const lines: string[] = [];
  if (runs.length >= 2) {
    const sorted = [...runs].sort((a, b) => (a.accuracyGap ?? 0) - (b.accuracyGap ?? 0));
    const parts = sorted.map((s) => `${s.title} ${formatPoints(s.accuracyGap ?? 0)}`).join(', ');
    lines.push(
      `- ${bold('Train−test accuracy gap')} at the final epoch ` +
        `(percentage points, smaller = less overfitting): ${parts}.`,
    );
  }
  for (const s of runs) {
    // A test loss well above its minimum while train loss keeps falling is the classic overfitting sign.
    const { bestTestLoss: best, final } = s;
    if (best.epoch < final.epoch && final.testLoss > best.value * 1.1) {
      lines.push(
        `- ${bold(s.title)}'s test loss bottomed at ${formatLoss(best.value)} (epoch ${best.epoch}) ` +
          `and ended at ${formatLoss(final.testLoss)} while train loss fell to ${formatLoss(final.trainLoss)}: ` +
          `it starts to overfit.`,
      );
    }
  }
  return lines;
}

function caveats(c: Comparison, complete: readonly Complete[]): string[] {
  const lines: string[] = [];
  for (const s of c.runs) {
    const missing = s.missingEpochs;
    if (!isComplete(s)) lines.push(`- ${s.title} has no recorded epochs.`);
    else if (missing.length > 0) {
      lines.push(`- ${s.title} has no record for ${plural(missing.length, 'epoch')} ${missing.join(', ')}.`);
    }
  }
  if (new Set(complete.map((s) => s.final.epoch)).size > 1) {
    const parts = complete.map((s) => `${s.title} ${s.final.epoch}`).join(', ');
    lines.push(`- The runs end at different epochs (${parts}), so "final" compares different training budgets.`);
  }
  return lines;
}

/**
 * The comparison as markdown: train and test performance per run, a summary table,
 * conclusions (who generalises better and by how much, who learns faster, overfitting)
 * and notes on incomplete data. Runs are named by title, so titles should be unique.
 */
export function renderComparison(c: Comparison): string {
  const complete = c.runs.filter(isComplete);
  const byTitle = new Map(complete.map((s) => [s.title, s] as const));
  const out: string[] = [];
  if (complete.length > 0) {
    out.push('### Train performance', '', ...complete.map(trainLine), '');
    out.push('### Test performance', '', ...complete.map((s) => testLine(s, c.threshold)), '');
  }
  out.push('### Summary', '', ...summaryTable(c.runs, c.threshold), '');
  const conclusions = [...generalisation(c, byTitle), ...learningSpeed(c, byTitle), ...overfitting(complete)];
  if (complete.length === 1)
    conclusions.unshift(`- Only one run (${complete[0]?.title}); there is nothing to compare it with.`);
  if (conclusions.length > 0) out.push('### Conclusions', '', ...conclusions, '');
  const notes = caveats(c, complete);
  if (notes.length > 0) out.push('### Notes', '', ...notes, '');
  return out.join('\n');
}
