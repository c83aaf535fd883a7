import { Resvg } from '@resvg/resvg-js';
import { describe, expect, it } from 'vitest';
import { segments } from './chart-panel.js';
import { CURVE_STYLE, curvesSize, renderCurvesSvg } from './curves-svg.js';
import { seedCustomMLP, seedLeNet5, seedRuns } from './seed-fixture.js';

/** resvg parses with a strict XML parser: a malformed document throws. */
const parses = (svg: string) => new Resvg(svg, { font: { loadSystemFonts: false } });

const count = (svg: string, needle: RegExp) => svg.match(needle)?.length ?? 0;

describe('renderCurvesSvg', () => {
  const svg = renderCurvesSvg([seedLeNet5(), seedCustomMLP()]);

  it('is well-formed SVG of the advertised size', () => {
    const parsed = parses(svg);
    expect({ width: parsed.width, height: parsed.height }).toEqual(curvesSize(2));
    expect(count(svg, /<g[ >]/g)).toBe(count(svg, /<\/g>/g));
  });

  it('has the title, legend, run titles and two panels per run', () => {
    expect(svg).toContain('Loss and accuracy per epoch, train vs test');
    expect(svg).toContain('>train (solid)<');
    expect(svg).toContain('>test (dashed)<');
    expect(svg).toContain('>LeNet5<');
    expect(svg).toContain('>CustomMLP<');
    // Panel titles are bold; the y-axis labels are not.
    expect(count(svg, /font-weight="bold"[^>]*>Loss</g)).toBe(2);
    expect(count(svg, /font-weight="bold"[^>]*>Accuracy</g)).toBe(2);
    expect(count(svg, />Cross-entropy loss</g)).toBe(2);
    expect(svg).toContain('>Epoch<');
    expect(svg).toContain('epoch 10: train 99.55%, test 99.03%');
  });

  it('draws train solid and test dashed, in the shared colours, on shared axes', () => {
    const lines = svg.match(/<polyline [^>]*>/g) ?? [];
    expect(lines).toHaveLength(8); // 2 runs x 2 panels x (train, test)
    const train = lines.filter((l) => l.includes(CURVE_STYLE.train.color));
    const test = lines.filter((l) => l.includes(CURVE_STYLE.test.color));
    expect(train).toHaveLength(4);
    expect(test).toHaveLength(4);
    expect(train.every((l) => !l.includes('stroke-dasharray'))).toBe(true);
    expect(test.every((l) => l.includes('stroke-dasharray'))).toBe(true);
    // Loss axes start at 0; accuracy axes are zoomed to the data (86%..100% here).
    expect(count(svg, />0\.0</g)).toBe(2);
    expect(count(svg, />86%</g)).toBe(2);
    expect(svg).not.toContain('>80%<');
  });

  it('escapes titles', () => {
    const odd = renderCurvesSvg([{ ...seedLeNet5(), title: 'A <b> & "c"' }], { title: 'x < y' });
    parses(odd);
    expect(odd).toContain('A &lt;b&gt; &amp; &quot;c&quot;');
  });

  it('copes with one run, one epoch, gaps and no records', () => {
    const lenet = seedLeNet5();
    const mlp = seedCustomMLP();
    const cases = [
      [{ ...lenet, records: lenet.records.slice(0, 1) }],
      [{ ...mlp, records: mlp.records.filter((r) => r.epoch !== 5) }],
      [{ title: 'empty', model: 'mlp', records: [] }],
      [],
      seedRuns(),
    ];
    for (const runs of cases) {
      const out = renderCurvesSvg(runs);
      expect(parses(out).height).toBe(curvesSize(runs.length).height);
    }
    // A single epoch has no line to draw, but its points are still marked.
    const single = renderCurvesSvg([{ ...lenet, records: lenet.records.slice(0, 1) }]);
    expect(count(single, /<polyline/g)).toBe(0);
    expect(count(single, /<circle/g)).toBeGreaterThanOrEqual(4);
  });
});

describe('segments', () => {
  it('breaks lines at missing epochs and skips non-finite values', () => {
    const pts = [
      [1, 1],
      [2, 2],
      [4, 4],
      [5, Number.NaN],
      [6, 6],
    ] as const;
    expect(segments(pts)).toEqual([
      [
        [1, 1],
        [2, 2],
      ],
      [[4, 4]],
      [[6, 6]],
    ]);
  });
});
