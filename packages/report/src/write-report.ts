import { artifactKeys } from '@mnist/protocol';
import { buildReport, type ReportInput } from './build-report.js';
import { renderCurvesSvg } from './curves-svg.js';
import { svgToPng } from './curves-png.js';
import { renderOverlaySvg } from './overlay-svg.js';
import { buildSeedReport, type SeedReportInput } from './seed-report.js';
import { meanRun } from './seeds.js';
import type { RunMetrics } from './types.js';

/** Anything that stores named blobs (an ArtifactStore from @mnist/storage fits). */
export interface ReportSink {
  put(key: string, body: Uint8Array | string, contentType?: string): Promise<void>;
}

async function writeAll(
  sink: ReportSink,
  curves: readonly RunMetrics[],
  markdown: (imagePath: string) => string,
): Promise<void> {
  const svg = renderCurvesSvg(curves);
  await sink.put(artifactKeys.curvesSvg, svg, 'image/svg+xml');
  await sink.put(artifactKeys.curvesPng, svgToPng(svg, { scale: 1.5 }), 'image/png');
  await sink.put(artifactKeys.report, markdown(artifactKeys.curvesPng), 'text/markdown');
}

/** The comparison figure's files (several runs only), beside curves.*. */
export const OVERLAY_KEYS = { svg: 'overlay.svg', png: 'overlay.png' } as const;

/**
 * Writes report.md, curves.svg and curves.png side by side, as every run folder and job
 * prefix holds them; for several runs also overlay.svg/png, every run's test curves on one chart.
 */
export async function writeReport(
  sink: ReportSink,
  input: Omit<ReportInput, 'imagePath' | 'overlayPath'>,
): Promise<void> {
  const overlay = input.runs.length > 1;
  if (overlay) {
    const svg = renderOverlaySvg(input.runs);
    await sink.put(OVERLAY_KEYS.svg, svg, 'image/svg+xml');
    await sink.put(OVERLAY_KEYS.png, svgToPng(svg, { scale: 1.5 }), 'image/png');
  }
  await writeAll(sink, input.runs, (imagePath) =>
    buildReport({ ...input, imagePath, ...(overlay && { overlayPath: OVERLAY_KEYS.png }) }),
  );
}

/** The same three files for a seed study: curves are each model's mean with a ± std band. */
export async function writeSeedReport(sink: ReportSink, input: Omit<SeedReportInput, 'imagePath'>): Promise<void> {
  const curves = input.groups.map((g) => ({
    ...meanRun(g),
    title: `${g.title} (${g.runs.length} seed${g.runs.length === 1 ? '' : 's'})`,
  }));
  await writeAll(sink, curves, (imagePath) => buildSeedReport({ ...input, imagePath }));
}
