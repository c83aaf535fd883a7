import { artifactKeys } from '@mnist/protocol';
import { buildReport, type ReportInput } from './build-report.js';
import { renderCurvesSvg } from './curves-svg.js';
import { svgToPng } from './curves-png.js';

/** Anything that stores named blobs (an ArtifactStore from @mnist/storage fits). */
export interface ReportSink {
  put(key: string, body: Uint8Array | string, contentType?: string): Promise<void>;
}

/** Writes report.md, curves.svg and curves.png side by side, as every run folder and job prefix holds them. */
export async function writeReport(sink: ReportSink, input: Omit<ReportInput, 'imagePath'>): Promise<void> {
  const svg = renderCurvesSvg(input.runs);
  await sink.put(artifactKeys.curvesSvg, svg, 'image/svg+xml');
  await sink.put(artifactKeys.curvesPng, svgToPng(svg, { scale: 1.5 }), 'image/png');
  await sink.put(artifactKeys.report, buildReport({ ...input, imagePath: artifactKeys.curvesPng }), 'text/markdown');
}
