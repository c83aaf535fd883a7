import { artifactKeys } from '@mnist/protocol';
import { headerLines } from './build-report.js';
import { escapeCell, formatLoss, formatPercent, formatPoints } from './format.js';
import { orderedRecords } from './records.js';
import {
  ALPHA,
  comparePairs,
  groupOutcome,
  meanRun,
  type GroupOutcome,
  type PairComparison,
  type SeedGroup,
} from './seeds.js';
import type { Summary } from './stats.js';
import type { ReportMeta } from './types.js';

export interface SeedReportInput {
  /** One group per model; titles should be unique. */
  groups: readonly SeedGroup[];
  title?: string;
  meta?: ReportMeta;
  /** Where the markdown links the curves, relative to report.md. */
  imagePath?: string;
  /** Extra lines for the Notes section (e.g. which jobs of a sweep are missing, and why). */
  notes?: readonly string[];
}

const row = (cells: readonly string[]) => `| ${cells.join(' | ')} |`;
const table = (header: readonly string[], rows: readonly (readonly string[])[]) =>
  [row(header), row(header.map(() => '---')), ...rows.map(row)].join('\n');
const bold = (text: string) => `**${text}**`;

/** `0.0412 ± 0.0013`, or the mean alone where there is no spread (one seed). */
const lossPm = (m: number, s: number) => (Number.isFinite(s) ? `${formatLoss(m)} ± ${formatLoss(s)}` : formatLoss(m));
/** `99.05 ± 0.06%`, or `99.05%` where there is no spread. */
const pctPm = (m: number, s: number) =>
  Number.isFinite(s) ? `${formatPoints(m)} ± ${formatPoints(s)}%` : formatPercent(m);
const interval = (s: Summary) => (s.ci95 ? `${formatPercent(s.ci95[0])} – ${formatPercent(s.ci95[1])}` : '–');
const formatP = (p: number) => (p < 0.001 ? p.toExponential(1) : p.toFixed(3));
const signedPoints = (d: number) => `${d >= 0 ? '+' : '−'}${formatPoints(Math.abs(d))}`;

/** The seed study's per-epoch table with each cell as mean ± std over the seeds that recorded the epoch. */
export function renderSeedTable(groups: readonly SeedGroup[]): string {
  const header = ['Model', 'Epoch', 'Seeds', 'Train Loss', 'Train Accuracy', 'Test Loss', 'Test Accuracy'];
  const rows: string[][] = [];
  for (const g of groups) {
    const { records, spread } = meanRun(g);
    if (records.length === 0) rows.push([escapeCell(g.title), '–', '0', '–', '–', '–', '–']);
    records.forEach((r, i) => {
      const s = spread[i]!;
      rows.push([
        i === 0 ? escapeCell(g.title) : '',
        String(r.epoch),
        String(s.seeds),
        lossPm(r.trainLoss, s.trainLoss),
        pctPm(r.trainAcc, s.trainAcc),
        lossPm(r.testLoss, s.testLoss),
        pctPm(r.testAcc, s.testAcc),
      ]);
    });
  }
  return table(header, rows) + '\n';
}

function outcomeTable(outcomes: readonly GroupOutcome[]): string {
  const header = [
    'Model',
    'Seeds',
    'Final Test Accuracy (mean ± std)',
    '95% Interval',
    'Best Test Accuracy (mean ± std)',
    '95% Interval',
  ];
  return table(
    header,
    outcomes.map((o) =>
      o.seeds.length === 0
        ? [escapeCell(o.title), '0', '–', '–', '–', '–']
        : [
            escapeCell(o.title),
            String(o.seeds.length),
            pctPm(o.final.mean, o.final.std),
            interval(o.final),
            pctPm(o.best.mean, o.best.std),
            interval(o.best),
          ],
    ),
  );
}

function perSeedTable(groups: readonly SeedGroup[]): string {
  const rows = groups.flatMap((g) =>
    g.runs.map((run, i) => {
      const records = orderedRecords(run.records);
      const final = records.at(-1);
      const best = records.reduce<(typeof records)[number] | undefined>(
        (b, r) => (b && b.testAcc >= r.testAcc ? b : r),
        undefined,
      );
      return [
        i === 0 ? escapeCell(g.title) : '',
        String(run.seed),
        final ? String(final.epoch) : '–',
        final ? formatPercent(final.testAcc) : 'no records',
        best ? `${formatPercent(best.testAcc)} (epoch ${best.epoch})` : '–',
      ];
    }),
  );
  return table(['Model', 'Seed', 'Epochs', 'Final Test Accuracy', 'Best Test Accuracy'], rows);
}

function pairTable(pairs: readonly PairComparison[]): string {
  const header = [
    'Higher mean',
    'Lower mean',
    'Difference (points)',
    '95% Interval (points)',
    'Welch t',
    'df',
    'p',
    'Holm p',
    'Difference supported?',
  ];
  return table(
    header,
    pairs.map((p) => {
      const w = p.welch;
      const cells = w
        ? [
            signedPoints(w.difference),
            `${signedPoints(w.ci95[0])} to ${signedPoints(w.ci95[1])}`,
            w.t.toFixed(2),
            w.df.toFixed(1),
            formatP(w.p),
            formatP(p.adjustedP ?? 1),
          ]
        : ['–', '–', '–', '–', '–', '–'];
      return [escapeCell(p.higher), escapeCell(p.lower), ...cells, w ? (p.significant ? 'yes' : 'no') : 'cannot test'];
    }),
  );
}

function conclusion(p: PairComparison, byTitle: Map<string, GroupOutcome>): string {
  const w = p.welch;
  const head = `- ${bold(`${p.higher} vs ${p.lower}`)}: `;
  if (!w) {
    const [hi, lo] = [byTitle.get(p.higher)!, byTitle.get(p.lower)!];
    const why =
      hi.seeds.length < 2 || lo.seeds.length < 2
        ? 'a test needs at least two seeds of each model (run more seeds)'
        : 'every seed of both ended at exactly the same accuracy, so there is no spread to test against';
    const means = `means ${formatPercent(hi.final.mean)} and ${formatPercent(lo.final.mean)}`;
    return `${head}${means}; ${why}, so no difference is claimed.`;
  }
  const ci = `95% interval of the difference ${signedPoints(w.ci95[0])} to ${signedPoints(w.ci95[1])} points`;
  const adjusted = formatP(p.adjustedP ?? 1);
  const stat = `Welch t = ${w.t.toFixed(2)} on ${w.df.toFixed(1)} df, p = ${formatP(w.p)}, Holm-adjusted ${adjusted}`;
  const points = formatPoints(w.difference);
  if (p.significant) {
    return (
      `${head}${bold(`${p.higher} is higher`)} by ${points} points of final test accuracy (${ci}; ${stat}): ` +
      `the seeds support a difference at the ${ALPHA * 100}% level.`
    );
  }
  const weak =
    w.ci95[0] <= 0
      ? 'the ' + ci + ' includes zero'
      : 'after correcting for the other comparisons the evidence is too weak';
  return (
    `${head}${bold('the runs cannot tell these models apart')}: ${p.higher}'s mean is ${points} points higher, ` +
    `but ${weak} (${stat}).`
  );
}

function notes(outcomes: readonly GroupOutcome[]): string[] {
  const lines: string[] = [];
  for (const o of outcomes) {
    if (o.missingSeeds.length > 0) {
      const covered = o.seeds.length
        ? `the figures cover seed${o.seeds.length === 1 ? '' : 's'} ${o.seeds.join(', ')}`
        : 'nothing of it is reported';
      const one = o.missingSeeds.length === 1;
      lines.push(
        `- ${o.title}: seed${one ? '' : 's'} ${o.missingSeeds.join(', ')} ha${one ? 's' : 've'} no records ` +
          `(failed, cancelled or unfinished); ${covered}.`,
      );
    }
  }
  const ends = new Set(outcomes.flatMap((o) => o.finalEpochs));
  if (ends.size > 1)
    lines.push(
      `- Not every seed ended at the same epoch (${[...ends].sort((a, b) => a - b).join(', ')}), ` +
        'so "final" compares different training budgets.',
    );
  return lines;
}

/** A seed study's report.md: ± table, band curves, final/best accuracy with 95% intervals, and pairwise Welch tests. */
export function buildSeedReport(input: SeedReportInput): string {
  const { groups, meta = {} } = input;
  const outcomes = groups.map(groupOutcome);
  const byTitle = new Map(outcomes.map((o) => [o.title, o] as const));
  const pairs = comparePairs(outcomes);
  const seedCounts = [...new Set(groups.map((g) => g.runs.length))];
  const title = input.title ?? `MNIST seed study: ${groups.map((g) => g.title).join(' vs ') || 'no runs'}`;
  // The header's training time and backends cover every seed's epochs.
  const allEpochs = groups.map((g) => ({ title: g.title, model: g.model, records: g.runs.flatMap((r) => r.records) }));
  const out = [
    `# ${title}`,
    '',
    ...headerLines(allEpochs, meta, 'Training time (all seeds)'),
    `- **Seeds per model**: ${seedCounts.join(' / ')}`,
    '',
    '## Loss and accuracy at the end of each epoch (mean ± std over seeds)',
    '',
    renderSeedTable(groups),
    '## Loss and accuracy curves',
    '',
    `![Loss and accuracy curves, mean ± std over seeds](${input.imagePath ?? artifactKeys.curvesPng})`,
    '',
    'Lines are the mean over seeds; the shaded band is ± one sample standard deviation.',
    '',
    '## Final and best test accuracy over seeds',
    '',
    outcomeTable(outcomes),
    '',
    "The 95% interval is for the mean over seeds (Student's t with n − 1 degrees of freedom).",
    '',
    '### Per seed',
    '',
    perSeedTable(groups),
    '',
  ];
  if (pairs.length > 0) {
    out.push(
      '## Pairwise comparison of final test accuracy',
      '',
      pairTable(pairs),
      '',
      `Welch's t-test (unequal variances) on each seed's final test accuracy; p-values are two-sided and ` +
        `Holm-adjusted over the ${pairs.length} comparison${pairs.length === 1 ? '' : 's'}. ` +
        `A difference is claimed only when the adjusted p is below ${ALPHA}.`,
      '',
      '### Conclusions',
      '',
      ...pairs.map((p) => conclusion(p, byTitle)),
      '',
    );
  }
  const n = [...(input.notes ?? []), ...notes(outcomes)];
  if (n.length > 0) out.push('### Notes', '', ...n, '');
  return out.join('\n');
}
