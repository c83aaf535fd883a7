import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { ONEDNN_BACKEND_NAME, type OnednnBackend } from './index.js';
import { BufferPool } from './pool.js';
import { describeOnednn } from '../test/compare.js';

describe('BufferPool', () => {
  it('reuses a released array of the same length', () => {
    const pool = new BufferPool();
    const a = pool.take(10_000);
    const id = {};
    pool.adopt(a, id);
    pool.release(a, id);
    expect(pool.take(10_000)).toBe(a);
    expect(pool.take(10_000)).not.toBe(a);
  });

  it('never reuses an array that escaped, was aliased, or is small', () => {
    const pool = new BufferPool();
    const read = pool.take(10_000);
    const readId = {};
    pool.adopt(read, readId);
    pool.escape(read);
    pool.release(read, readId);

    const aliased = pool.take(10_000);
    const owner = {};
    pool.adopt(aliased, owner);
    pool.adopt(aliased, {}); // the same array handed to a second tensor
    pool.release(aliased, owner);

    const small = pool.take(100);
    pool.adopt(small, {});
    const taken = [pool.take(10_000), pool.take(10_000)];
    expect(taken).not.toContain(read);
    expect(taken).not.toContain(aliased);
    expect(pool.stats().freeArrays).toBe(0);
  });

  it('keeps at most maxFreeBytes idle', () => {
    const pool = new BufferPool(50_000);
    const arrays = [pool.take(10_000), pool.take(10_000)];
    arrays.forEach((a) => {
      const id = {};
      pool.adopt(a, id);
      pool.release(a, id);
    });
    expect(pool.stats().freeArrays).toBe(1);
  });
});

describeOnednn('buffer reuse on the backend', () => {
  it('data read by the user is never overwritten by later kernels', async () => {
    await tf.setBackend(ONEDNN_BACKEND_NAME);
    const x = tf.fill([64, 28, 28, 6], 2);
    const y = tf.relu(x);
    const seen = y.dataSync(); // the backend's own array
    y.dispose();
    for (let i = 0; i < 5; i++) tf.neg(x).dispose();
    expect(seen.every((v) => v === 2)).toBe(true);
    x.dispose();
  });

  it('a slice view of a kernel output survives the output being disposed', async () => {
    await tf.setBackend(ONEDNN_BACKEND_NAME);
    const x = tf.fill([64, 28, 28, 6], 3);
    const y = tf.relu(x);
    const head = tf.slice(y, [0], [1]); // the cpu Slice kernel returns a subarray view
    y.dispose();
    for (let i = 0; i < 5; i++) tf.neg(x).dispose();
    expect(head.dataSync().every((v) => v === 3)).toBe(true);
    tf.dispose([x, head]);
  });

  it('kernel outputs are recycled across steps', async () => {
    await tf.setBackend(ONEDNN_BACKEND_NAME);
    const backend = tf.backend() as OnednnBackend;
    const x = tf.ones([64, 28, 28, 6]);
    for (let i = 0; i < 3; i++) tf.tidy(() => tf.relu(tf.neg(x))).dispose();
    const before = backend.pool.stats();
    for (let i = 0; i < 10; i++) tf.tidy(() => tf.relu(tf.neg(x))).dispose();
    const after = backend.pool.stats();
    expect(after.allocated).toBe(before.allocated);
    expect(after.reused - before.reused).toBe(20);
    x.dispose();
  });
});
