import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeImages, encodeLabels, fixtureLabels, fixturePixel } from './idx-fixtures.js';
import {
  DatasetError,
  IDX_LABELS_MAGIC,
  IdxFormatError,
  IMAGE_SIZE,
  parseIdxImages,
  parseIdxLabels,
  readIdxImages,
  readIdxLabels,
} from './index.js';

const IMAGES = '/data/train-images-idx3-ubyte';
const LABELS = '/data/train-labels-idx1-ubyte';

/** The error a call throws, for checking its class, file and exact message. */
function thrown(fn: () => unknown): IdxFormatError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(IdxFormatError);
    expect(err).toBeInstanceOf(DatasetError);
    return err as IdxFormatError;
  }
  throw new Error('expected a throw');
}

describe('parseIdxImages', () => {
  it('reads count and pixels of a good file', () => {
    const images = parseIdxImages(encodeImages(3), IMAGES);
    expect(images.count).toBe(3);
    expect(images.pixels.length).toBe(3 * IMAGE_SIZE);
    expect(images.pixels[2 * IMAGE_SIZE + 5]).toBe(fixturePixel(2, 5));
  });

  it('accepts a file with zero images', () => {
    expect(parseIdxImages(encodeImages(0), IMAGES).count).toBe(0);
  });

  it('rejects a truncated file, naming the file and both sizes', () => {
    const err = thrown(() => parseIdxImages(encodeImages(3).subarray(0, 1000), IMAGES));
    expect(err.message).toBe(
      'train-images-idx3-ubyte: truncated: header says 3 images (2368 bytes) but file has 1000 bytes',
    );
    expect(err.file).toBe(IMAGES);
  });

  it('rejects a header that claims more images than the file holds', () => {
    const err = thrown(() => parseIdxImages(encodeImages(2, { declaredCount: 60_000 }), IMAGES));
    expect(err.message).toBe(
      'train-images-idx3-ubyte: truncated: header says 60000 images (47040016 bytes) but file has 1584 bytes',
    );
  });

  it('rejects trailing bytes after the last image', () => {
    const err = thrown(() => parseIdxImages(encodeImages(3, { declaredCount: 2 }), IMAGES));
    expect(err.message).toBe(
      'train-images-idx3-ubyte: trailing data: header says 2 images (1584 bytes) but file has 2368 bytes',
    );
  });

  it('rejects a file shorter than the header', () => {
    const err = thrown(() => parseIdxImages(encodeImages(1).subarray(0, 10), IMAGES));
    expect(err.message).toBe(
      'train-images-idx3-ubyte: truncated: 10 bytes is shorter than the 16-byte IDX images header',
    );
  });

  it('rejects a wrong magic number', () => {
    const err = thrown(() => parseIdxImages(encodeImages(1, { magic: 0x12345678 }), IMAGES));
    expect(err.message).toBe(
      'train-images-idx3-ubyte: wrong magic number 305419896 (0x12345678), expected 2051 for an IDX images file',
    );
  });

  it('rejects an IDX file with the wrong number of dimensions (a labels file given as images)', () => {
    const err = thrown(() => parseIdxImages(encodeImages(1, { magic: IDX_LABELS_MAGIC }), IMAGES));
    expect(err.message).toBe(
      'train-images-idx3-ubyte: wrong dimension count: magic 2049 is a 1-dimensional IDX file, ' +
        'an IDX images file is 3-dimensional (magic 2051)',
    );
  });

  it('rejects images that are not 28x28', () => {
    const err = thrown(() => parseIdxImages(encodeImages(1, { rows: 32 }), IMAGES));
    expect(err.message).toBe('train-images-idx3-ubyte: wrong image size 32x28, expected 28x28');
  });
});

describe('parseIdxLabels', () => {
  it('reads a good file', () => {
    expect([...parseIdxLabels(encodeLabels([5, 0, 4, 9]), LABELS)]).toEqual([5, 0, 4, 9]);
  });

  it('rejects a label outside 0..9, naming its position', () => {
    const err = thrown(() => parseIdxLabels(encodeLabels([1, 2, 10]), LABELS));
    expect(err.message).toBe('train-labels-idx1-ubyte: label out of range: label 2 is 10, expected 0..9');
  });

  it('rejects a count that does not match the length', () => {
    const err = thrown(() => parseIdxLabels(encodeLabels([1, 2, 3], { declaredCount: 5 }), LABELS));
    expect(err.message).toBe(
      'train-labels-idx1-ubyte: truncated: header says 5 labels (13 bytes) but file has 11 bytes',
    );
  });

  it('rejects an images file given as labels', () => {
    const err = thrown(() => parseIdxLabels(encodeImages(1), LABELS));
    expect(err.message).toMatch(
      /^train-labels-idx1-ubyte: wrong dimension count: magic 2051 is a 3-dimensional IDX file/,
    );
  });
});

describe('readIdxImages / readIdxLabels', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'idx-test-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('read raw and gzip files alike, telling them apart by content, not name', async () => {
    const raw = join(dir, 'raw.gz'); // misleading name on purpose
    const zipped = join(dir, 'zipped');
    await writeFile(raw, encodeImages(4));
    await writeFile(zipped, gzipSync(encodeImages(4)));
    const [a, b] = await Promise.all([readIdxImages(raw), readIdxImages(zipped)]);
    expect(a.count).toBe(4);
    expect(b.pixels).toEqual(a.pixels);

    const labels = join(dir, 'labels.gz');
    await writeFile(labels, gzipSync(encodeLabels(fixtureLabels(4))));
    expect([...(await readIdxLabels(labels))]).toEqual(fixtureLabels(4));
  });

  it('checks the inflated content of a gzip file', async () => {
    const file = join(dir, 't10k-images-idx3-ubyte.gz');
    await writeFile(file, gzipSync(encodeImages(2).subarray(0, 100)));
    await expect(readIdxImages(file)).rejects.toThrow(
      't10k-images-idx3-ubyte.gz: truncated: header says 2 images (1584 bytes) but file has 100 bytes',
    );
  });

  it('reports corrupt gzip data', async () => {
    const file = join(dir, 'cut.gz');
    const gz = gzipSync(encodeImages(2));
    await writeFile(file, gz.subarray(0, gz.length / 2));
    await expect(readIdxImages(file)).rejects.toThrow(/^cut\.gz: corrupt gzip data/);
  });

  it('reports an unreadable file as a DatasetError naming it', async () => {
    const file = join(dir, 'absent');
    await expect(readIdxLabels(file)).rejects.toThrow(DatasetError);
    await expect(readIdxLabels(file)).rejects.toThrow(`${file}: cannot read`);
  });
});
