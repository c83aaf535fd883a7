import { describe, expect, it, vi } from 'vitest';
import { within, withRetry } from './index.js';

describe('within', () => {
  it('returns the value when the promise settles in time, and clears its timer', async () => {
    vi.useFakeTimers();
    try {
      const p = within(Promise.resolve(7), 1_000, 'late');
      await expect(p).resolves.toBe(7);
      expect(vi.getTimerCount()).toBe(0);
    } finally {
      vi.useRealTimers();
    }
  });

  it('returns the fallback when time runs out, and passes a rejection through', async () => {
    await expect(within(new Promise(() => undefined), 10, 'late')).resolves.toBe('late');
    await expect(within(Promise.reject(new Error('boom')), 1_000, 'late')).rejects.toThrow('boom');
  });
});

describe('withRetry', () => {
  it('retries what the caller calls retryable, rethrows the rest at once', async () => {
    let calls = 0;
    const flaky = () => (++calls < 3 ? Promise.reject(new Error('transient')) : Promise.resolve('ok'));
    await expect(
      withRetry(flaky, { what: 'x', initialDelayMs: 1, isRetryable: (e) => (e as Error).message === 'transient' }),
    ).resolves.toBe('ok');
    expect(calls).toBe(3);
    calls = 0;
    await expect(
      withRetry(() => (calls++, Promise.reject(new Error('fatal'))), {
        what: 'x',
        initialDelayMs: 1,
        isRetryable: () => false,
      }),
    ).rejects.toThrow('fatal');
    expect(calls).toBe(1);
  });
});
