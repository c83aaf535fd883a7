import { describe, expect, it } from 'vitest';
import { normalizePixels, PIXEL_STATS } from './index.js';

describe('normalizePixels', () => {
  it('maps MNIST bytes by (x/255 - 0.1307) / 0.3081', () => {
    const out = normalizePixels(Uint8Array.of(0, 255, 128), PIXEL_STATS.mnist);
    expect(out[0]).toBeCloseTo(-0.4242, 4);
    expect(out[1]).toBeCloseTo(2.8215, 4);
    expect(out[2]).toBeCloseTo((128 / 255 - 0.1307) / 0.3081, 6);
  });

  it('uses Fashion-MNIST its own statistics', () => {
    expect(PIXEL_STATS['fashion-mnist']).toEqual({ mean: 0.286, std: 0.353 });
    const out = normalizePixels(Uint8Array.of(0, 255), PIXEL_STATS['fashion-mnist']);
    expect(out[0]).toBeCloseTo(-0.8102, 4);
    expect(out[1]).toBeCloseTo(2.0227, 4);
  });
});
