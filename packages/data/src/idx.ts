import { readFile } from 'node:fs/promises';
import { promisify } from 'node:util';
import { gunzip } from 'node:zlib';
import { DatasetError, IdxFormatError } from './errors.js';

/** IDX magic numbers: two zero bytes, type 0x08 (uint8), then the dimension count. */
export const IDX_IMAGES_MAGIC = 2051; // 0x00000803: uint8, 3 dimensions
export const IDX_LABELS_MAGIC = 2049; // 0x00000801: uint8, 1 dimension
const IDX_UINT8 = 0x08;
const IMAGES_HEADER_BYTES = 16; // magic, count, rows, cols
const LABELS_HEADER_BYTES = 8; // magic, count

const GZIP_MAGIC_0 = 0x1f;
const GZIP_MAGIC_1 = 0x8b;

export const IMAGE_HEIGHT = 28;
export const IMAGE_WIDTH = 28;
export const IMAGE_CHANNELS = 1;
export const IMAGE_SIZE = IMAGE_HEIGHT * IMAGE_WIDTH * IMAGE_CHANNELS;
/** One image as the models take it (NHWC without the batch). */
export const IMAGE_SHAPE = [IMAGE_HEIGHT, IMAGE_WIDTH, IMAGE_CHANNELS] as const;
export const NUM_CLASSES = 10;

export interface IdxImages {
  count: number;
  /** count x 28 x 28 bytes, row-major: already NHWC with one channel. */
  pixels: Uint8Array;
}

const gunzipAsync = promisify(gunzip);

/** Reads a file and inflates it when it starts with the gzip magic, whatever its name. */
async function readMaybeGzip(file: string): Promise<Uint8Array> {
  let raw: Uint8Array;
  try {
    raw = await readFile(file);
  } catch (err) {
    throw new DatasetError(file, `${file}: cannot read: ${(err as Error).message}`, { cause: err });
  }
  if (raw[0] !== GZIP_MAGIC_0 || raw[1] !== GZIP_MAGIC_1) return raw;
  try {
    return await gunzipAsync(raw);
  } catch (err) {
    throw new IdxFormatError(file, `corrupt gzip data (${(err as Error).message})`, { cause: err });
  }
}

function checkMagic(bytes: Uint8Array, file: string, expected: number, what: string, headerBytes: number): DataView {
  if (bytes.length < headerBytes) {
    throw new IdxFormatError(
      file,
      `truncated: ${bytes.length} bytes is shorter than the ${headerBytes}-byte IDX ${what} header`,
    );
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const magic = view.getUint32(0); // IDX is big-endian
  if (magic === expected) return view;
  const dims = expected & 0xff;
  const looksIdx = view.getUint16(0) === 0 && bytes[2] === IDX_UINT8;
  const hex = magic.toString(16).padStart(8, '0');
  const problem = looksIdx
    ? `wrong dimension count: magic ${magic} is a ${bytes[3]}-dimensional IDX file, ` +
      `an IDX ${what} file is ${dims}-dimensional (magic ${expected})`
    : `wrong magic number ${magic} (0x${hex}), expected ${expected} for an IDX ${what} file`;
  throw new IdxFormatError(file, problem);
}

function checkLength(
  bytes: Uint8Array,
  file: string,
  headerBytes: number,
  count: number,
  itemBytes: number,
  what: string,
): void {
  const expected = headerBytes + count * itemBytes;
  if (bytes.length === expected) return;
  const kind = bytes.length < expected ? 'truncated' : 'trailing data';
  throw new IdxFormatError(
    file,
    `${kind}: header says ${count} ${what} (${expected} bytes) but file has ${bytes.length} bytes`,
  );
}

/** Parses an IDX images file: magic 2051, count x 28 x 28 uint8, exact length. */
export function parseIdxImages(bytes: Uint8Array, file: string): IdxImages {
  const view = checkMagic(bytes, file, IDX_IMAGES_MAGIC, 'images', IMAGES_HEADER_BYTES);
  const count = view.getUint32(4);
  const rows = view.getUint32(8);
  const cols = view.getUint32(12);
  if (rows !== IMAGE_HEIGHT || cols !== IMAGE_WIDTH) {
    throw new IdxFormatError(file, `wrong image size ${rows}x${cols}, expected ${IMAGE_HEIGHT}x${IMAGE_WIDTH}`);
  }
  checkLength(bytes, file, IMAGES_HEADER_BYTES, count, IMAGE_SIZE, 'images');
  return { count, pixels: bytes.subarray(IMAGES_HEADER_BYTES) };
}

/** Parses an IDX labels file: magic 2049, count uint8 labels in 0..9, exact length. */
export function parseIdxLabels(bytes: Uint8Array, file: string): Uint8Array {
  const view = checkMagic(bytes, file, IDX_LABELS_MAGIC, 'labels', LABELS_HEADER_BYTES);
  const count = view.getUint32(4);
  checkLength(bytes, file, LABELS_HEADER_BYTES, count, 1, 'labels');
  const labels = bytes.subarray(LABELS_HEADER_BYTES);
  for (let i = 0; i < labels.length; i++) {
    const label = labels[i]!;
    if (label >= NUM_CLASSES) {
      throw new IdxFormatError(file, `label out of range: label ${i} is ${label}, expected 0..${NUM_CLASSES - 1}`);
    }
  }
  return labels;
}

export async function readIdxImages(file: string): Promise<IdxImages> {
  return parseIdxImages(await readMaybeGzip(file), file);
}

export async function readIdxLabels(file: string): Promise<Uint8Array> {
  return parseIdxLabels(await readMaybeGzip(file), file);
}
