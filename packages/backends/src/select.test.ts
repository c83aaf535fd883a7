import { describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import { BackendUnavailableError, selectBackend } from './index.js';

describe('selectBackend', () => {
  it('an explicit backend that is not installed is an error that says why', async () => {
    const attempt = selectBackend('tensorflow');
    await expect(attempt).rejects.toBeInstanceOf(BackendUnavailableError);
    await expect(selectBackend('tensorflow')).rejects.toThrow(/@tensorflow\/tfjs-node(-gpu)? not installed/);
  });

  it('cpu is always there, and auto never picks something slower than wasm here', async () => {
    expect((await selectBackend('cpu')).name).toBe('cpu');
    expect(tf.getBackend()).toBe('cpu');
    const auto = await selectBackend('auto');
    expect(['tensorflow', 'onednn', 'wasm']).toContain(auto.name);
    // Every faster backend that was passed over is listed with a reason.
    for (const s of auto.skipped) expect(s.reason.length).toBeGreaterThan(0);
  });
});
