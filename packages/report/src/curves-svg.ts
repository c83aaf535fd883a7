import type { EpochRecord } from '@mnist/protocol';
import {
  CHART_FONT,
  chartDocument,
  lineStyle,
  markerStyle,
  renderPanel,
  type Axis,
  type Series,
} from './chart-panel.js';
import { formatLoss, formatPercent } from './format.js';
import { orderedRecords } from './records.js';
import { el, text } from './svg.js';
import { decimalsFor, niceScale, niceStep, ticksBetween } from './ticks.js';
import type { RunMetrics } from './types.js';

export interface CurvesOptions {
  /** Figure title; defaults to a description of the figure. */
  title?: string;
}

/** Train is solid, test dashed, in the same two colours in every panel. */
export const CURVE_STYLE = {
  train: { color: '#1f6fb4', dashed: false },
  test: { color: '#e4570e', dashed: true },
} as const;

// Layout in SVG user units (= PNG pixels at scale 1).
const WIDTH = 1040;
const HEADER = 92;
const ROW_TITLE = 30;
const PANEL_HEIGHT = 290;
const MARGIN = 16;
const PANEL_WIDTH = (WIDTH - 2 * MARGIN) / 2;
const ROW_HEIGHT = ROW_TITLE + PANEL_HEIGHT + 12;

/** The figure's size for a number of runs, so callers (and tests) know the PNG size. */
export function curvesSize(runCount: number): { width: number; height: number } {
  return { width: WIDTH, height: HEADER + Math.max(1, runCount) * ROW_HEIGHT + MARGIN };
}

const finite = (values: number[]) => values.filter(Number.isFinite);

/** Epoch axis shared by all panels: integer ticks, a little room so end markers are not clipped. */
export function epochAxis(records: readonly EpochRecord[]): Axis {
  const epochs = records.map((r) => r.epoch);
  const lo = epochs.length ? Math.min(...epochs) : 1;
  const hi = epochs.length ? Math.max(...epochs) : 1;
  const step = niceStep((hi - lo) / 10, 1);
  const pad = Math.max(0.4, (hi - lo) * 0.03);
  const ticks = ticksBetween(lo, hi, step);
  return { domain: [lo - pad, hi + pad], ticks: ticks.length ? ticks : [lo], format: String, label: 'Epoch' };
}

export type Metric = 'trainLoss' | 'trainAcc' | 'testLoss' | 'testAcc';

/** Every value a panel plots for these metrics: the lines and, where there is a spread, both band edges. */
export function plotted(runs: readonly RunMetrics[], metrics: readonly Metric[], scale = 1): number[] {
  return finite(
    runs.flatMap((run) => {
      const byEpoch = new Map(run.records.map((r) => [r.epoch, r] as const));
      const lines = run.records.flatMap((r) => metrics.map((m) => r[m] * scale));
      const bands = (run.spread ?? []).flatMap((s) =>
        metrics.flatMap((m) => {
          const mid = byEpoch.get(s.epoch)?.[m] ?? Number.NaN;
          return [(mid - s[m]) * scale, (mid + s[m]) * scale];
        }),
      );
      return [...lines, ...bands];
    }),
  );
}

/** Loss axis shared by all runs, from 0 so the size of a loss reads correctly. */
export function lossAxis(values: number[]): Axis {
  const max = values.length ? Math.max(...values) : 1;
  const scale = niceScale(0, max > 0 ? max * 1.04 : 1, 5);
  const digits = decimalsFor(scale.step);
  const format = (v: number) => v.toFixed(digits);
  return { domain: [scale.lo, scale.hi], ticks: scale.ticks, format, label: 'Cross-entropy loss' };
}

/** Accuracy axis (percent) zoomed to the data: MNIST curves live in the top few percent. */
export function accuracyAxis(values: number[]): Axis {
  const min = values.length ? Math.min(...values) : 0;
  const max = values.length ? Math.max(...values) : 100;
  const pad = Math.max(0.25, (max - min) * 0.05);
  const scale = niceScale(Math.max(0, min - pad), Math.min(100, max + pad), 5);
  const lo = Math.max(0, scale.lo);
  const hi = Math.min(100, scale.hi);
  const digits = decimalsFor(scale.step);
  return {
    domain: [lo, hi],
    ticks: scale.ticks.filter((t) => t >= lo && t <= hi),
    format: (v) => `${v.toFixed(digits)}%`,
    label: 'Accuracy',
  };
}

type Split = keyof typeof CURVE_STYLE;
function series(run: RunMetrics, records: readonly EpochRecord[], split: Split, metric: Metric, scale = 1): Series {
  const byEpoch = new Map(records.map((r) => [r.epoch, r] as const));
  const band = run.spread?.map((s) => {
    const mid = byEpoch.get(s.epoch)?.[metric] ?? Number.NaN;
    return [s.epoch, (mid - s[metric]) * scale, (mid + s[metric]) * scale] as const;
  });
  return {
    points: records.map((r) => [r.epoch, r[metric] * scale] as const),
    ...CURVE_STYLE[split],
    ...(band && { band }),
  };
}

function legend(centerX: number, y: number): string {
  const item = (x: number, label: string, style: Pick<Series, 'color' | 'dashed'>) => [
    el('line', { x1: x, x2: x + 40, y1: y, y2: y, ...lineStyle(style) }),
    el('circle', { cx: x + 20, cy: y, ...markerStyle(style) }),
    text(label, { x: x + 48, y: y + 5, 'font-size': 14, fill: '#222' }),
  ];
  return el('g', { 'font-family': CHART_FONT }, [
    ...item(centerX - 130, 'train (solid)', CURVE_STYLE.train),
    ...item(centerX + 20, 'test (dashed)', CURVE_STYLE.test),
  ]);
}

/**
 * Loss and accuracy curves, train vs test: one row per run, loss on the left and
 * accuracy on the right. Axes are shared across rows so the runs compare at a glance.
 */
export function renderCurvesSvg(runs: readonly RunMetrics[], options: CurvesOptions = {}): string {
  const { width, height } = curvesSize(runs.length);
  const ordered = runs.map((run) => ({ run, records: orderedRecords(run.records) }));
  const all = ordered.flatMap((o) => o.records);
  const xAxis = epochAxis(all);
  const yLoss = lossAxis(plotted(runs, ['trainLoss', 'testLoss']));
  const yAcc = accuracyAxis(plotted(runs, ['trainAcc', 'testAcc'], 100));
  const banded = runs.some((r) => r.spread);
  const title = options.title ?? `Loss and accuracy per epoch, train vs test${banded ? ': mean ± std over seeds' : ''}`;
  const centered = { x: width / 2, 'text-anchor': 'middle' };

  const parts: string[] = [
    el('rect', { x: 0, y: 0, width, height, fill: '#fff' }),
    text(title, { ...centered, y: 36, 'font-size': 22, 'font-weight': 'bold', fill: '#111' }),
    legend(width / 2, 68),
  ];
  if (ordered.length === 0) {
    parts.push(text('No runs to plot.', { ...centered, y: HEADER + 60, 'font-size': 16, fill: '#555' }));
  }
  ordered.forEach(({ run, records }, i) => {
    const top = HEADER + i * ROW_HEIGHT;
    parts.push(text(run.title, { x: MARGIN, y: top + 20, 'font-size': 19, 'font-weight': 'bold', fill: '#111' }));
    const last = records.at(-1);
    if (!last) {
      parts.push(
        text('no epochs recorded', { x: MARGIN + 10, y: top + ROW_TITLE + 40, 'font-size': 14, fill: '#555' }),
      );
      return;
    }
    const box = (col: number) => ({
      x: MARGIN + col * PANEL_WIDTH,
      y: top + ROW_TITLE,
      width: PANEL_WIDTH,
      height: PANEL_HEIGHT,
    });
    const note = (f: (v: number) => string, train: number, test: number) =>
      `epoch ${last.epoch}: train ${f(train)}, test ${f(test)}`;
    const lossNote = note(formatLoss, last.trainLoss, last.testLoss);
    const accNote = note(formatPercent, last.trainAcc, last.testAcc);
    parts.push(
      renderPanel(box(0), { title: 'Loss', note: lossNote }, xAxis, yLoss, [
        series(run, records, 'train', 'trainLoss'),
        series(run, records, 'test', 'testLoss'),
      ]),
      renderPanel(box(1), { title: 'Accuracy', note: accNote }, xAxis, yAcc, [
        series(run, records, 'train', 'trainAcc', 100),
        series(run, records, 'test', 'testAcc', 100),
      ]),
    );
  });

  return chartDocument(width, height, title, parts);
}
