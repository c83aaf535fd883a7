import type { DatasetName } from '@mnist/protocol';

export interface PixelStats {
  mean: number;
  std: number;
}

/**
 * Mean and standard deviation of the training pixels scaled to 0..1.
 * MNIST uses the values the seed (and torchvision's examples) use; Fashion-MNIST uses its
 * own, measured over its 60,000 training images, so both datasets reach the model centred
 * and at unit scale.
 */
export const PIXEL_STATS: Readonly<Record<DatasetName, PixelStats>> = {
  mnist: { mean: 0.1307, std: 0.3081 },
  'fashion-mnist': { mean: 0.286, std: 0.353 },
};

/** `(x/255 - mean) / std` for every byte value, so normalising is one table lookup per pixel. */
function normalizationTable({ mean, std }: PixelStats): Float32Array {
  const table = new Float32Array(256);
  for (let v = 0; v < 256; v++) table[v] = (v / 255 - mean) / std;
  return table;
}

/** Normalises raw pixels into a new Float32Array of the same length. */
export function normalizePixels(pixels: Uint8Array, stats: PixelStats): Float32Array {
  const table = normalizationTable(stats);
  const out = new Float32Array(pixels.length);
  for (let i = 0; i < pixels.length; i++) out[i] = table[pixels[i]!]!;
  return out;
}
