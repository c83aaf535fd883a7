import { describe, expect, it } from 'vitest';
import { BatchBuffer, gatherBatch, IMAGE_SIZE, type Split } from './index.js';

/** Example i has every pixel equal to i and label i % 10. */
function makeSplit(count: number): Split {
  const images = new Float32Array(count * IMAGE_SIZE);
  for (let i = 0; i < count; i++) images.fill(i, i * IMAGE_SIZE, (i + 1) * IMAGE_SIZE);
  return { images, labels: Int32Array.from({ length: count }, (_, i) => i % 10), count };
}

const firstPixels = (x: Float32Array, count: number) => Array.from({ length: count }, (_, j) => x[j * IMAGE_SIZE]);

describe('gatherBatch', () => {
  const split = makeSplit(20);

  it('copies the selected examples, in the order given', () => {
    const batch = gatherBatch(split, Uint32Array.of(13, 2, 19));
    expect(batch.count).toBe(3);
    expect(batch.x.length).toBe(3 * IMAGE_SIZE);
    expect(firstPixels(batch.x, 3)).toEqual([13, 2, 19]);
    expect(batch.x[2 * IMAGE_SIZE + IMAGE_SIZE - 1]).toBe(19); // the whole image, not just its start
    expect([...batch.y]).toEqual([3, 2, 9]);
  });

  it('reuses a BatchBuffer: results are views of it, sized to the batch', () => {
    const buffer = new BatchBuffer(4);
    const a = gatherBatch(split, [1, 2, 3, 4], buffer);
    expect(a.x.buffer).toBe(buffer.x.buffer);
    expect(firstPixels(a.x, 4)).toEqual([1, 2, 3, 4]);
    const b = gatherBatch(split, [7, 8], buffer); // a short last batch
    expect(b.count).toBe(2);
    expect(b.x.length).toBe(2 * IMAGE_SIZE);
    expect([...b.y]).toEqual([7, 8]);
    expect(firstPixels(buffer.x, 2)).toEqual([7, 8]);
  });

  it('handles an empty batch (a rank with nothing at this step)', () => {
    expect(gatherBatch(split, new Uint32Array(0), new BatchBuffer(4))).toMatchObject({ count: 0 });
  });

  it('rejects a batch larger than the buffer, and indices outside the split', () => {
    expect(() => gatherBatch(split, [1, 2, 3], new BatchBuffer(2))).toThrow(
      'batch of 3 does not fit a BatchBuffer of capacity 2',
    );
    expect(() => gatherBatch(split, [20])).toThrow("index 20 is outside the split's 20 examples");
    expect(() => new BatchBuffer(0)).toThrow(RangeError);
  });
});
