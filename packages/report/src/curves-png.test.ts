import { describe, expect, it } from 'vitest';
import { rasterise, renderCurvesPng, svgToPng } from './curves-png.js';
import { curvesSize, renderCurvesSvg } from './curves-svg.js';
import { seedCustomMLP, seedLeNet5 } from './seed-fixture.js';

const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

/** Width and height from the IHDR chunk, which a valid PNG has first, right after the signature. */
function pngSize(png: Uint8Array): { width: number; height: number } {
  const view = new DataView(png.buffer, png.byteOffset, png.byteLength);
  expect(String.fromCharCode(...png.subarray(12, 16))).toBe('IHDR');
  return { width: view.getUint32(16), height: view.getUint32(20) };
}

/** Pixels that are not (near) white. */
function inked(rgba: Uint8Array): number {
  let n = 0;
  for (let i = 0; i < rgba.length; i += 4) {
    if (Math.min(rgba[i] ?? 255, rgba[i + 1] ?? 255, rgba[i + 2] ?? 255) < 200) n++;
  }
  return n;
}

describe('renderCurvesPng', () => {
  const runs = [seedLeNet5(), seedCustomMLP()];

  it('writes a PNG of the figure size', () => {
    const png = renderCurvesPng(runs);
    expect([...png.subarray(0, 8)]).toEqual(PNG_SIGNATURE);
    expect(pngSize(png)).toEqual(curvesSize(2));
  });

  it('scales the raster on request', () => {
    const { width, height } = curvesSize(1);
    expect(pngSize(renderCurvesPng([seedLeNet5()], { scale: 2 }))).toEqual({ width: width * 2, height: height * 2 });
  });

  it('is not blank, and its text is drawn with the bundled font', () => {
    const svg = renderCurvesSvg(runs);
    const full = rasterise(svg);
    const withoutText = rasterise(svg.replace(/<text[^>]*>[^<]*<\/text>/g, ''));
    const all = full.width * full.height;
    expect(inked(full.pixels)).toBeGreaterThan(all * 0.02);
    // Without fonts resvg silently drops text; the labels must add a visible amount of ink.
    expect(inked(full.pixels) - inked(withoutText.pixels)).toBeGreaterThan(all * 0.005);
  });

  it('renders bold text too', () => {
    const svg = (weight: string) =>
      `<svg xmlns="http://www.w3.org/2000/svg" width="200" height="40">` +
      `<text x="5" y="30" font-family="DejaVu Sans" font-size="24" font-weight="${weight}">Accuracy</text></svg>`;
    const regular = inked(rasterise(svg('normal')).pixels);
    const bold = inked(rasterise(svg('bold')).pixels);
    expect(regular).toBeGreaterThan(100);
    expect(bold).toBeGreaterThan(regular);
  });

  it('renders single-run and one-epoch figures', () => {
    const lenet = seedLeNet5();
    const png = svgToPng(renderCurvesSvg([{ ...lenet, records: lenet.records.slice(0, 1) }]));
    expect(pngSize(png)).toEqual(curvesSize(1));
  });
});
