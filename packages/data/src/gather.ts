import { IMAGE_SIZE } from './idx.js';
import type { Split } from './load-dataset.js';

/** One batch: `x` is count x 28 x 28 x 1 (NHWC), `y` the class of each image. */
export interface Batch {
  x: Float32Array;
  y: Int32Array;
  count: number;
}

/**
 * Storage for batches of up to `capacity` examples, allocated once and reused every step,
 * so an epoch copies only the examples it visits and allocates nothing.
 */
export class BatchBuffer {
  readonly x: Float32Array;
  readonly y: Int32Array;
  constructor(readonly capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1)
      throw new RangeError(`BatchBuffer capacity must be a positive integer, got ${capacity}`);
    this.x = new Float32Array(capacity * IMAGE_SIZE);
    this.y = new Int32Array(capacity);
  }
}

/**
 * Copies the examples at `indices` of `split`, in that order, into `out` (or into new
 * arrays when no buffer is given). With a buffer, the returned arrays are views of it,
 * overwritten by the next gather into the same buffer: build (and dispose) the batch's
 * tensors before gathering the next one, since some backends (tfjs cpu) keep the array
 * they are given rather than copying it.
 */
export function gatherBatch(split: Split, indices: ArrayLike<number>, out?: BatchBuffer): Batch {
  const count = indices.length;
  if (out && count > out.capacity)
    throw new RangeError(`batch of ${count} does not fit a BatchBuffer of capacity ${out.capacity}`);
  const x = out ? out.x.subarray(0, count * IMAGE_SIZE) : new Float32Array(count * IMAGE_SIZE);
  const y = out ? out.y.subarray(0, count) : new Int32Array(count);
  for (let j = 0; j < count; j++) {
    const i = indices[j]!;
    if (!(Number.isInteger(i) && i >= 0 && i < split.count))
      throw new RangeError(`index ${i} is outside the split's ${split.count} examples`);
    x.set(split.images.subarray(i * IMAGE_SIZE, (i + 1) * IMAGE_SIZE), j * IMAGE_SIZE);
    y[j] = split.labels[i]!;
  }
  return { x, y, count };
}
