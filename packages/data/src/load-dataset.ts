import { basename } from 'node:path';
import type { DatasetName } from '@mnist/protocol';
import { resolveDatasetFiles } from './dataset-files.js';
import { DatasetError, IdxFormatError } from './errors.js';
import { IMAGE_SIZE, readIdxImages, readIdxLabels } from './idx.js';
import { normalizePixels, PIXEL_STATS, type PixelStats } from './normalize.js';

/** One split, normalised once at load. `images` is count x 28 x 28 x 1 (NHWC), row-major. */
export interface Split {
  images: Float32Array;
  labels: Int32Array;
  count: number;
}

export interface Dataset {
  name: DatasetName;
  /** The folder the files were read from, for logs. */
  dir: string;
  train: Split;
  test: Split;
}

export interface LoadDatasetOptions {
  name: DatasetName;
  /** Folder holding the four IDX files; defaults to the source's own (see README). */
  dir?: string;
  /** Keep only the first N training examples. */
  trainLimit?: number;
  /** Keep only the first N test examples. */
  testLimit?: number;
}

function checkLimit(limit: number | undefined, option: string): void {
  if (limit !== undefined && !(Number.isInteger(limit) && limit >= 1)) {
    throw new RangeError(`${option} must be a positive integer, got ${limit}`);
  }
}

async function loadSplit(
  files: { images: string; labels: string },
  limit: number | undefined,
  option: string,
  stats: PixelStats,
): Promise<Split> {
  const [images, labels] = await Promise.all([readIdxImages(files.images), readIdxLabels(files.labels)]);
  if (labels.length !== images.count) {
    throw new IdxFormatError(
      files.labels,
      `wrong count: ${labels.length} labels but ${basename(files.images)} has ${images.count} images`,
    );
  }
  if (limit !== undefined && limit > images.count) {
    throw new DatasetError(files.images, `${option} ${limit} exceeds the ${images.count} examples in ${files.images}`);
  }
  const count = limit ?? images.count;
  const labelsOut = new Int32Array(count);
  labelsOut.set(labels.subarray(0, count));
  return {
    images: normalizePixels(images.pixels.subarray(0, count * IMAGE_SIZE), stats),
    labels: labelsOut,
    count,
  };
}

/** Finds, reads, checks and normalises a dataset's train and test splits. */
export async function loadDataset({ name, dir, trainLimit, testLimit }: LoadDatasetOptions): Promise<Dataset> {
  checkLimit(trainLimit, 'trainLimit');
  checkLimit(testLimit, 'testLimit');
  const files = await resolveDatasetFiles(name, dir);
  const stats = PIXEL_STATS[name];
  const [train, test] = await Promise.all([
    loadSplit(files.train, trainLimit, 'trainLimit', stats),
    loadSplit(files.test, testLimit, 'testLimit', stats),
  ]);
  return { name, dir: files.dir, train, test };
}
