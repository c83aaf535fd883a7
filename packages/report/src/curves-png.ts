import { createRequire } from 'node:module';
import { Resvg, type RenderedImage } from '@resvg/resvg-js';
import { renderCurvesSvg, type CurvesOptions } from './curves-svg.js';
import type { RunMetrics } from './types.js';

export interface RasterOptions {
  /** Pixels per SVG unit; 2 keeps text crisp on high-density screens. */
  scale?: number;
}

// Fonts ship with the package (dejavu-fonts-ttf) so a bare server or container renders
// the same text as a desktop; system fonts are ignored for the same reason.
let fontFiles: string[] | undefined;
function bundledFonts(): string[] {
  if (!fontFiles) {
    const require = createRequire(import.meta.url);
    fontFiles = ['DejaVuSans.ttf', 'DejaVuSans-Bold.ttf'].map((f) => require.resolve(`dejavu-fonts-ttf/ttf/${f}`));
  }
  return fontFiles;
}

/** Rasterises an SVG with the bundled fonts; the pixels are there for checks, `asPng()` for files. */
export function rasterise(svg: string, options: RasterOptions = {}): RenderedImage {
  const scale = options.scale ?? 1;
  const resvg = new Resvg(svg, {
    font: {
      loadSystemFonts: false,
      fontFiles: bundledFonts(),
      defaultFontFamily: 'DejaVu Sans',
      sansSerifFamily: 'DejaVu Sans',
    },
    fitTo: scale === 1 ? { mode: 'original' } : { mode: 'zoom', value: scale },
    background: '#ffffff',
  });
  return resvg.render();
}

export function svgToPng(svg: string, options: RasterOptions = {}): Buffer {
  return rasterise(svg, options).asPng();
}

/** The curves figure as PNG bytes (see renderCurvesSvg for the layout). */
export function renderCurvesPng(runs: readonly RunMetrics[], options: CurvesOptions & RasterOptions = {}): Buffer {
  return svgToPng(renderCurvesSvg(runs, options), { scale: options.scale ?? 1 });
}
