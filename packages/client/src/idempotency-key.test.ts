import { describe, expect, it } from 'vitest';
import { newIdempotencyKey } from './idempotency-key.js';

describe('newIdempotencyKey', () => {
  it('is a UUIDv7 carrying the time in its first 48 bits, unique, ordered by time', () => {
    const k = newIdempotencyKey(1_700_000_000_123);
    expect(k).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(parseInt(k.slice(0, 8) + k.slice(9, 13), 16)).toBe(1_700_000_000_123);
    expect(new Set(Array.from({ length: 100 }, () => newIdempotencyKey(5))).size).toBe(100);
    expect(newIdempotencyKey(1) < newIdempotencyKey(2)).toBe(true);
  });
});
