import { describe, expect, it } from 'vitest';
import { decodeChunk, encodeChunks, HEADER_BYTES, PHASE, placeChunk, sumInRankOrder, WireFormatError } from './wire.js';

const header = { round: 7, rank: 2, slice: 1, phase: PHASE.gather, sentAt: 1_764_000_000_123.456 } as const;

describe('collective wire format', () => {
  it('splits a part into chunks that reassemble bit for bit, even from unaligned buffers', () => {
    const values = Float32Array.from({ length: 1001 }, (_, i) => Math.fround(Math.sin(i) * 1e-3));
    const chunks = encodeChunks(header, values, 300);
    expect(chunks).toHaveLength(4);
    const target = new Float32Array(values.length);
    for (const c of chunks) {
      // Received payloads can sit at any offset of a larger buffer.
      const unaligned = new Uint8Array(c.length + 1).subarray(1);
      unaligned.set(c);
      const d = decodeChunk(unaligned);
      expect(d).toMatchObject({ ...header, chunks: 4, total: 1001 });
      placeChunk(target, d);
    }
    expect(Buffer.from(target.buffer).equals(Buffer.from(values.buffer))).toBe(true);
  });

  it('rejects truncated, foreign-version, unknown-phase and out-of-range chunks', () => {
    const [c] = encodeChunks(header, Float32Array.of(1, 2, 3), 10);
    expect(() => decodeChunk(c!.subarray(0, HEADER_BYTES - 1))).toThrow(WireFormatError);
    const wrongVersion = c!.slice();
    wrongVersion[12] = 9;
    expect(() => decodeChunk(wrongVersion)).toThrow(/version 9/);
    const wrongPhase = c!.slice();
    wrongPhase[14] = 7;
    expect(() => decodeChunk(wrongPhase)).toThrow(/phase 7/);
    const tooLong = new Uint8Array(c!.length + 4);
    tooLong.set(c!);
    expect(() => decodeChunk(tooLong)).toThrow(/does not fit/);
  });

  it('adds in rank order, so the result is the same on every rank whatever the arrival order', () => {
    const a = Float32Array.of(1e8, 1);
    const b = Float32Array.of(1, 1e-8);
    const c = Float32Array.of(-1e8, 0);
    const sum = sumInRankOrder([a, b, c]);
    // ((1e8 + 1) - 1e8) in float32 is 0; another order would give 1: order matters, so it is fixed.
    expect(sum[0]).toBe(Math.fround(Math.fround(1e8 + 1) - 1e8));
    expect(sumInRankOrder([a, c, b])[0]).not.toBe(sum[0]);
  });
});
