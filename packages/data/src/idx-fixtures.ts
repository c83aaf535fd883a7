/**
 * Test-only helpers: small IDX files written by the tests themselves, so reader and loader
 * tests need no downloads. Not exported from index.ts.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { IDX_FILE_NAMES } from './dataset-files.js';
import { IDX_IMAGES_MAGIC, IDX_LABELS_MAGIC, IMAGE_SIZE } from './idx.js';

/** Pixel p of fixture image i: distinct per image, so tests can tell images apart. */
export const fixturePixel = (i: number, p: number): number => (i * 7 + p) & 0xff;
export const fixtureLabel = (i: number): number => i % 10;

export interface ImagesOptions {
  magic?: number;
  /** What the header claims; defaults to the number of images written. */
  declaredCount?: number;
  rows?: number;
  cols?: number;
}

export function encodeImages(
  count: number,
  { magic = IDX_IMAGES_MAGIC, declaredCount = count, rows = 28, cols = 28 }: ImagesOptions = {},
): Uint8Array {
  const bytes = new Uint8Array(16 + count * IMAGE_SIZE);
  const view = new DataView(bytes.buffer);
  [magic, declaredCount, rows, cols].forEach((v, k) => view.setUint32(4 * k, v));
  for (let i = 0; i < count; i++)
    for (let p = 0; p < IMAGE_SIZE; p++) bytes[16 + i * IMAGE_SIZE + p] = fixturePixel(i, p);
  return bytes;
}

export function encodeLabels(
  labels: readonly number[],
  { magic = IDX_LABELS_MAGIC, declaredCount = labels.length } = {},
): Uint8Array {
  const bytes = new Uint8Array(8 + labels.length);
  const view = new DataView(bytes.buffer);
  view.setUint32(0, magic);
  view.setUint32(4, declaredCount);
  bytes.set(labels, 8);
  return bytes;
}

export const fixtureLabels = (count: number): number[] => Array.from({ length: count }, (_, i) => fixtureLabel(i));

/** Writes a four-file dataset folder with `train` and `test` examples. */
export async function writeDatasetDir(
  dir: string,
  { train, test, gzip = false, dotted = false }: { train: number; test: number; gzip?: boolean; dotted?: boolean },
): Promise<void> {
  await mkdir(dir, { recursive: true });
  const write = (canonical: string, bytes: Uint8Array) => {
    const name = (dotted ? canonical.replace('-idx', '.idx') : canonical) + (gzip ? '.gz' : '');
    return writeFile(join(dir, name), gzip ? gzipSync(bytes) : bytes);
  };
  await Promise.all([
    write(IDX_FILE_NAMES.train.images, encodeImages(train)),
    write(IDX_FILE_NAMES.train.labels, encodeLabels(fixtureLabels(train))),
    write(IDX_FILE_NAMES.test.images, encodeImages(test)),
    write(IDX_FILE_NAMES.test.labels, encodeLabels(fixtureLabels(test))),
  ]);
}
