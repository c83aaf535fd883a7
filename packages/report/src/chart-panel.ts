import { linear } from './ticks.js';
import { el, polyline, text, type Attrs } from './svg.js';

export interface Axis {
  domain: readonly [number, number];
  ticks: readonly number[];
  format: (v: number) => string;
  label: string;
}

export interface Series {
  /** [epoch, value] pairs in epoch order; a jump of more than one epoch breaks the line. */
  points: ReadonlyArray<readonly [number, number]>;
  color: string;
  dashed: boolean;
  /** [epoch, low, high] of a spread around the line (mean ± std over seeds), drawn as a shaded band. */
  band?: ReadonlyArray<readonly [number, number, number]>;
}

export interface PanelBox {
  x: number;
  y: number;
  width: number;
  height: number;
}

export const CHART_FONT = 'DejaVu Sans, Verdana, sans-serif';
const INK = '#222';
const GRID = '#e3e3e3';
// Beyond this many epochs markers merge into a bead chain; the line alone reads better.
const MAX_MARKED_POINTS = 30;
// Room inside the panel box for the title above and tick labels / axis label around the plot.
const PAD = { left: 82, right: 14, top: 32, bottom: 48 } as const;

/** Consecutive-epoch runs of finite points: a missing epoch shows as a gap, not a made-up line. */
export function segments(points: Series['points']): Array<Array<readonly [number, number]>> {
  const out: Array<Array<readonly [number, number]>> = [];
  let current: Array<readonly [number, number]> = [];
  let prevEpoch = Number.NaN;
  for (const p of points) {
    if (!Number.isFinite(p[1])) continue;
    if (current.length > 0 && p[0] !== prevEpoch + 1) {
      out.push(current);
      current = [];
    }
    current.push(p);
    prevEpoch = p[0];
  }
  if (current.length > 0) out.push(current);
  return out;
}

/** Stroke of a series line; the legend draws its samples with the same attributes. */
export const lineStyle = (s: Pick<Series, 'color' | 'dashed'>): Attrs => ({
  fill: 'none',
  stroke: s.color,
  'stroke-width': 2.2,
  'stroke-dasharray': s.dashed ? '7 4' : undefined,
  'stroke-linejoin': 'round',
});

/** Filled markers on solid (train) lines, hollow on dashed (test): distinguishable without colour. */
export const markerStyle = (s: Pick<Series, 'color' | 'dashed'>): Attrs => ({
  r: 3.2,
  fill: s.dashed ? '#fff' : s.color,
  stroke: s.color,
  'stroke-width': 1.6,
});

const TICK_LABEL: Attrs = { 'font-size': 13, fill: INK };
const AXIS_LABEL: Attrs = { 'font-size': 14, fill: INK, 'text-anchor': 'middle' };

/** One chart: title, grid, axes with ticks and labels, and its series with point markers. */
export function renderPanel(
  box: PanelBox,
  heading: { title: string; note?: string },
  xAxis: Axis,
  yAxis: Axis,
  series: readonly Series[],
): string {
  const left = box.x + PAD.left;
  const right = box.x + box.width - PAD.right;
  const top = box.y + PAD.top;
  const bottom = box.y + box.height - PAD.bottom;
  const sx = linear(xAxis.domain[0], xAxis.domain[1], left, right);
  const sy = linear(yAxis.domain[0], yAxis.domain[1], bottom, top);
  const parts: string[] = [];

  // Heading: title left, latest values right.
  parts.push(text(heading.title, { x: left, y: box.y + 20, 'font-size': 16, 'font-weight': 'bold', fill: INK }));
  if (heading.note) {
    parts.push(text(heading.note, { x: right, y: box.y + 20, 'text-anchor': 'end', 'font-size': 13, fill: '#555' }));
  }

  // Grid, ticks and tick labels.
  parts.push(el('rect', { x: left, y: top, width: right - left, height: bottom - top, fill: '#fff', stroke: GRID }));
  for (const t of yAxis.ticks) {
    const y = sy(t);
    parts.push(el('line', { x1: left, x2: right, y1: y, y2: y, stroke: GRID }));
    parts.push(el('line', { x1: left - 5, x2: left, y1: y, y2: y, stroke: INK }));
    parts.push(text(yAxis.format(t), { ...TICK_LABEL, x: left - 8, y: y + 4, 'text-anchor': 'end' }));
  }
  for (const t of xAxis.ticks) {
    const x = sx(t);
    parts.push(el('line', { x1: x, x2: x, y1: top, y2: bottom, stroke: GRID, 'stroke-dasharray': '2 3' }));
    parts.push(el('line', { x1: x, x2: x, y1: bottom, y2: bottom + 5, stroke: INK }));
    parts.push(text(xAxis.format(t), { ...TICK_LABEL, x, y: bottom + 19, 'text-anchor': 'middle' }));
  }

  // Axes and their labels.
  parts.push(el('path', { d: `M${left},${top}V${bottom}H${right}`, fill: 'none', stroke: INK, 'stroke-width': 1.2 }));
  parts.push(text(xAxis.label, { ...AXIS_LABEL, x: (left + right) / 2, y: bottom + 40 }));
  const [labelX, labelY] = [box.x + 14, (top + bottom) / 2];
  parts.push(text(yAxis.label, { ...AXIS_LABEL, x: labelX, y: labelY, transform: `rotate(-90 ${labelX} ${labelY})` }));

  // Bands under every line, so no band hides another series' line.
  for (const s of series) {
    if (!s.band) continue;
    const lows = s.band.map(([e, lo]) => [e, lo] as const);
    const highs = new Map(s.band.map(([e, , hi]) => [e, hi] as const));
    for (const seg of segments(lows)) {
      const outline = [
        ...seg.map(([e, lo]) => [sx(e), sy(lo)] as const),
        ...[...seg].reverse().map(([e]) => [sx(e), sy(highs.get(e) ?? Number.NaN)] as const),
      ];
      if (seg.length > 1 && outline.every(([, y]) => Number.isFinite(y))) {
        parts.push(el('polygon', { points: polyline(outline), fill: s.color, 'fill-opacity': 0.18, stroke: 'none' }));
      }
    }
  }

  // Data.
  for (const s of series) {
    for (const seg of segments(s.points)) {
      const pts = seg.map(([e, v]) => [sx(e), sy(v)] as const);
      if (pts.length > 1) parts.push(el('polyline', { points: polyline(pts), ...lineStyle(s) }));
      // An isolated point has no line, so it keeps its marker even on long runs.
      if (s.points.length > MAX_MARKED_POINTS && pts.length > 1) continue;
      for (const [x, y] of pts) parts.push(el('circle', { cx: x, cy: y, ...markerStyle(s) }));
    }
  }
  return el('g', { 'font-family': CHART_FONT }, parts);
}

/** A whole chart as a standalone SVG file: the root element (sized, titled for screen readers) around `parts`. */
export function chartDocument(width: number, height: number, title: string, parts: readonly string[]): string {
  const root = {
    xmlns: 'http://www.w3.org/2000/svg',
    width,
    height,
    viewBox: `0 0 ${width} ${height}`,
    role: 'img',
    'aria-label': title,
    'font-family': CHART_FONT,
  };
  return `<?xml version="1.0" encoding="UTF-8"?>\n${el('svg', root, parts)}\n`;
}
