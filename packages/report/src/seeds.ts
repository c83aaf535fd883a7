import type { EpochRecord } from '@mnist/protocol';
import { orderedRecords } from './records.js';
import { mean, std, summarize, welchTTest, type Summary, type WelchResult } from './stats.js';
import type { EpochSpread, RunMetrics } from './types.js';

/** One seed's run of a model. */
export interface SeedRun {
  seed: number;
  records: readonly EpochRecord[];
}

/** One model trained with several seeds (the same recipe otherwise). */
export interface SeedGroup {
  /** Display name, unique among the groups. */
  title: string;
  model: string;
  runs: readonly SeedRun[];
}

const METRICS = ['trainLoss', 'trainAcc', 'testLoss', 'testAcc'] as const;

/** The group as one run: each epoch's mean over the seeds that recorded it, with the spread beside it. */
export function meanRun(group: SeedGroup): RunMetrics & { spread: EpochSpread[] } {
  const byEpoch = new Map<number, EpochRecord[]>();
  for (const run of group.runs) {
    for (const r of orderedRecords(run.records)) byEpoch.set(r.epoch, [...(byEpoch.get(r.epoch) ?? []), r]);
  }
  const epochs = [...byEpoch.keys()].sort((a, b) => a - b);
  const records: EpochRecord[] = [];
  const spread: EpochSpread[] = [];
  for (const epoch of epochs) {
    const rs = byEpoch.get(epoch)!;
    const of = (f: (r: EpochRecord) => number) => rs.map(f);
    const m = Object.fromEntries(METRICS.map((k) => [k, mean(of((r) => r[k]))])) as Record<
      (typeof METRICS)[number],
      number
    >;
    const s = Object.fromEntries(METRICS.map((k) => [k, std(of((r) => r[k]))])) as Record<
      (typeof METRICS)[number],
      number
    >;
    records.push({
      epoch,
      ...m,
      seconds: mean(of((r) => r.seconds)),
      imagesPerSec: mean(of((r) => r.imagesPerSec)),
      backend: [...new Set(rs.map((r) => r.backend))].join(', '),
    });
    spread.push({ epoch, seeds: rs.length, ...s });
  }
  return { title: group.title, model: group.model, records, spread };
}

/** What a group's seeds reached: final and best test accuracy, each summarised over seeds. */
export interface GroupOutcome {
  title: string;
  model: string;
  /** Seeds with at least one epoch, in the order given. */
  seeds: number[];
  /** Seeds without any record (failed, cancelled or not run yet). */
  missingSeeds: number[];
  /** The last recorded epoch of each seed, as listed in `seeds`. */
  finalEpochs: number[];
  finalTestAcc: number[];
  bestTestAcc: number[];
  final: Summary;
  best: Summary;
}

export function groupOutcome(group: SeedGroup): GroupOutcome {
  const done = group.runs
    .map((r) => ({ seed: r.seed, records: orderedRecords(r.records) }))
    .filter((r) => r.records.length > 0);
  const finals = done.map((r) => r.records.at(-1)!);
  const finalTestAcc = finals.map((r) => r.testAcc);
  const bestTestAcc = done.map((r) => Math.max(...r.records.map((x) => x.testAcc)));
  return {
    title: group.title,
    model: group.model,
    seeds: done.map((r) => r.seed),
    missingSeeds: group.runs.filter((r) => r.records.length === 0).map((r) => r.seed),
    finalEpochs: finals.map((r) => r.epoch),
    finalTestAcc,
    bestTestAcc,
    final: summarize(finalTestAcc),
    best: summarize(bestTestAcc),
  };
}

/** The significance level of the pairwise conclusions (after the Holm correction). */
export const ALPHA = 0.05;

export interface PairComparison {
  /** The group with the higher mean final test accuracy. */
  higher: string;
  lower: string;
  /** Welch's test of higher - lower on final test accuracy; undefined if it cannot be run. */
  welch?: WelchResult;
  /** Holm–Bonferroni adjusted p-value over all the pairs that could be tested. */
  adjustedP?: number;
  /** Whether the data support a difference at ALPHA after the correction. */
  significant: boolean;
}

/**
 * Every pair of groups compared by Welch's t-test on final test accuracy. Several
 * pairs are several tests, so the p-values are Holm-adjusted before a pair counts as
 * different: otherwise 3 models x 5% would claim a false difference too often.
 */
export function comparePairs(outcomes: readonly GroupOutcome[], alpha = ALPHA): PairComparison[] {
  const pairs: PairComparison[] = [];
  for (let i = 0; i < outcomes.length; i++) {
    for (let j = i + 1; j < outcomes.length; j++) {
      const [x, y] = [outcomes[i]!, outcomes[j]!];
      if (x.seeds.length === 0 || y.seeds.length === 0) continue;
      const [hi, lo] = x.final.mean >= y.final.mean ? [x, y] : [y, x];
      const welch = welchTTest(hi.finalTestAcc, lo.finalTestAcc);
      pairs.push({ higher: hi.title, lower: lo.title, ...(welch && { welch }), significant: false });
    }
  }
  const tested = pairs.filter((p) => p.welch).sort((a, b) => a.welch!.p - b.welch!.p);
  let running = 0;
  tested.forEach((p, k) => {
    running = Math.max(running, Math.min(1, (tested.length - k) * p.welch!.p));
    p.adjustedP = running;
    p.significant = running < alpha;
  });
  return pairs;
}
