export { renderMetricsTable, renderMetricsHeader, renderMetricsRow } from './metrics-table.js';
export { formatDuration, formatInt } from './format.js';
export { compareRuns, summarizeRun, DEFAULT_ACCURACY_THRESHOLD } from './compare.js';
export type { Comparison, RunSummary, Margin, AtEpoch } from './compare.js';
export { renderComparison } from './comparison-text.js';
export { renderCurvesSvg, curvesSize, CURVE_STYLE } from './curves-svg.js';
export type { CurvesOptions } from './curves-svg.js';
export { renderCurvesPng, svgToPng, rasterise } from './curves-png.js';
export type { RasterOptions } from './curves-png.js';
export type { RunMetrics, ReportMeta, EpochSpread } from './types.js';
export { buildReport, describeRecipe, describeDataset, describeOptimizer, differencesWarning } from './build-report.js';
export type { ReportInput } from './build-report.js';
export { OVERLAY_KEYS, writeReport } from './write-report.js';
export { renderOverlaySvg, overlaySize, RUN_COLOURS } from './overlay-svg.js';
export { recipeDifferences } from './recipe-diff.js';
export type { RecipeOf } from './recipe-diff.js';
export type { ReportSink } from './write-report.js';
export { writeSeedReport } from './write-report.js';
export {
  mean,
  std,
  variance,
  summarize,
  welchTTest,
  studentTCdf,
  studentTQuantile,
  incompleteBeta,
  logGamma,
} from './stats.js';
export type { Summary, WelchResult } from './stats.js';
export { meanRun, groupOutcome, comparePairs, ALPHA } from './seeds.js';
export type { SeedRun, SeedGroup, GroupOutcome, PairComparison } from './seeds.js';
export { buildSeedReport, renderSeedTable } from './seed-report.js';
export type { SeedReportInput } from './seed-report.js';
