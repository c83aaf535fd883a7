import { CollectiveProtocolError } from './errors.js';
import { placeChunk, type DecodedChunk, type Phase } from './wire.js';

interface Part {
  values: Float32Array;
  chunksSeen: Set<number>;
  chunks: number;
}

const key = (phase: Phase, rank: number) => phase * 0x10000 + rank;

/**
 * The parts peers sent, by round, as chunks arrive (possibly early, possibly twice).
 * Holds the current round and the next one only: a peer can be at most one round ahead.
 * The float buffers are reused by round parity (round r's buffers serve round r + 2, when
 * nothing reads r any more), so a steady run of same-sized rounds allocates nothing.
 */
export class RoundBuffer {
  private readonly rounds = new Map<number, Map<number, Part>>();
  private readonly spare = [new Map<number, Float32Array>(), new Map<number, Float32Array>()];

  constructor(private readonly worldSize: number) {}

  /** This rank starts `round`: older rounds are dropped, their buffers kept for reuse. */
  enter(round: number): void {
    for (const [r, parts] of this.rounds) {
      if (r >= round) continue;
      for (const [k, part] of parts) this.spare[r & 1]!.set(k, part.values);
      this.rounds.delete(r);
    }
  }

  /**
   * Stores a chunk whose part must have `expectedLength` floats (unknown before this rank's
   * first round: checked when the part is used); false when it is stale
   * (an old round, or a duplicate after a resend).
   */
  add(c: DecodedChunk, currentRound: number, expectedLength: number | undefined): boolean {
    if (c.round < currentRound || c.rank >= this.worldSize) return false;
    if (c.round > currentRound + 1) {
      throw new CollectiveProtocolError(`rank ${c.rank} sent round ${c.round} while this rank is at ${currentRound}`);
    }
    if (expectedLength !== undefined && c.total !== expectedLength) {
      throw new CollectiveProtocolError(
        `round ${c.round}: rank ${c.rank} sent a part of ${c.total} values, this rank expects ${expectedLength}`,
      );
    }
    let parts = this.rounds.get(c.round);
    if (!parts) this.rounds.set(c.round, (parts = new Map()));
    const k = key(c.phase, c.rank);
    let part = parts.get(k);
    if (!part)
      parts.set(k, (part = { values: this.bufferFor(c.round, k, c.total), chunksSeen: new Set(), chunks: c.chunks }));
    if (part.chunks !== c.chunks)
      throw new CollectiveProtocolError(`rank ${c.rank} round ${c.round}: chunks disagree about the part's size`);
    if (part.chunksSeen.has(c.chunk)) return false;
    placeChunk(part.values, c);
    part.chunksSeen.add(c.chunk);
    return true;
  }

  /** The complete part `rank` sent for `round` in `phase`, if all its chunks are here. */
  get(round: number, phase: Phase, rank: number): Float32Array | undefined {
    const part = this.rounds.get(round)?.get(key(phase, rank));
    return part && part.chunksSeen.size === part.chunks ? part.values : undefined;
  }

  private bufferFor(round: number, k: number, length: number): Float32Array {
    const spare = this.spare[round & 1]!;
    const reused = spare.get(k);
    spare.delete(k);
    return reused?.length === length ? reused : new Float32Array(length);
  }
}
