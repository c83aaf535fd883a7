import { CHART_FONT, chartDocument, lineStyle, renderPanel, type Series } from './chart-panel.js';
import { accuracyAxis, epochAxis, lossAxis, plotted } from './curves-svg.js';
import { orderedRecords } from './records.js';
import { el, text } from './svg.js';
import type { RunMetrics } from './types.js';

/** One colour per run (Okabe-Ito, readable with colour-vision deficiencies); repeats past eight runs. */
export const RUN_COLOURS = [
  '#0072b2',
  '#e69f00',
  '#009e73',
  '#cc79a7',
  '#56b4e9',
  '#d55e00',
  '#f0e442',
  '#000000',
] as const;

const WIDTH = 1040;
const MARGIN = 16;
const HEADER = 60;
const PANEL_HEIGHT = 340;
const LEGEND_ROW = 24;

/** Size of the overlay figure for a number of runs (the legend grows with them). */
export function overlaySize(runCount: number): { width: number; height: number } {
  return {
    width: WIDTH,
    height: HEADER + PANEL_HEIGHT + 24 + Math.ceil(Math.max(1, runCount) / 3) * LEGEND_ROW + MARGIN,
  };
}

/**
 * Every run's test loss and test accuracy on one pair of axes, a colour per run: the
 * comparison figure (the per-run rows of renderCurvesSvg show train vs test instead).
 */
export function renderOverlaySvg(
  runs: readonly RunMetrics[],
  title = 'Test loss and test accuracy per epoch, all runs',
): string {
  const { width, height } = overlaySize(runs.length);
  const ordered = runs.map((run) => orderedRecords(run.records));
  const xAxis = epochAxis(ordered.flat());
  const yLoss = lossAxis(plotted(runs, ['testLoss']));
  const yAcc = accuracyAxis(plotted(runs, ['testAcc'], 100));
  const colour = (i: number) => RUN_COLOURS[i % RUN_COLOURS.length]!;
  const lines = (metric: 'testLoss' | 'testAcc', scale: number): Series[] =>
    ordered.map((records, i) => ({
      points: records.map((r) => [r.epoch, r[metric] * scale] as const),
      color: colour(i),
      dashed: false,
    }));
  const panelWidth = (WIDTH - 2 * MARGIN) / 2;
  const box = (col: number) => ({ x: MARGIN + col * panelWidth, y: HEADER, width: panelWidth, height: PANEL_HEIGHT });
  const legendTop = HEADER + PANEL_HEIGHT + 24;
  const legend = runs.map((run, i) => {
    const x = MARGIN + (i % 3) * ((WIDTH - 2 * MARGIN) / 3);
    const y = legendTop + Math.floor(i / 3) * LEGEND_ROW;
    return el('g', {}, [
      el('line', { x1: x, x2: x + 32, y1: y, y2: y, ...lineStyle({ color: colour(i), dashed: false }) }),
      text(run.title, { x: x + 40, y: y + 5, 'font-size': 14, fill: '#222' }),
    ]);
  });
  const parts = [
    el('rect', { x: 0, y: 0, width, height, fill: '#fff' }),
    text(title, { x: width / 2, 'text-anchor': 'middle', y: 36, 'font-size': 22, 'font-weight': 'bold', fill: '#111' }),
    renderPanel(box(0), { title: 'Test loss' }, xAxis, yLoss, lines('testLoss', 1)),
    renderPanel(box(1), { title: 'Test accuracy' }, xAxis, yAcc, lines('testAcc', 100)),
    ...legend,
  ];
  return chartDocument(width, height, title, parts);
}
