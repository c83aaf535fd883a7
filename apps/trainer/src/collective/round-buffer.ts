import { CollectiveProtocolError } from './errors.js';
import { placeChunk, sumInRankOrder, type DecodedChunk } from './wire.js';

interface Contribution {
  values: Float32Array;
  chunksSeen: Set<number>;
  chunks: number;
}

/**
 * Peers' contributions by round, as chunks arrive (possibly early, possibly twice).
 * Holds the current round and the next one only: a peer can be at most one round ahead.
 */
export class RoundBuffer {
  private readonly rounds = new Map<number, (Contribution | undefined)[]>();

  constructor(
    private readonly rank: number,
    private readonly worldSize: number,
  ) {}

  /** This rank starts `round` with `length` values: drop older rounds, check early arrivals' size. */
  enter(round: number, length: number): void {
    for (const r of this.rounds.keys()) if (r < round) this.rounds.delete(r);
    for (const c of this.rounds.get(round) ?? []) {
      if (c && c.values.length !== length) {
        throw new CollectiveProtocolError(`round ${round}: a peer sent ${c.values.length} values, this rank has ${length}`);
      }
    }
  }

  /** Stores a chunk; false when it is stale (an old round, or a duplicate after a resend). */
  add(c: DecodedChunk, currentRound: number): boolean {
    if (c.round < currentRound || c.rank === this.rank || c.rank >= this.worldSize) return false;
    if (c.round > currentRound + 1) {
      throw new CollectiveProtocolError(`rank ${c.rank} sent round ${c.round} while this rank is at ${currentRound}`);
    }
    let slots = this.rounds.get(c.round);
    if (!slots) this.rounds.set(c.round, (slots = new Array<Contribution | undefined>(this.worldSize).fill(undefined)));
    let contrib = slots[c.rank];
    if (!contrib) slots[c.rank] = contrib = { values: new Float32Array(c.total), chunksSeen: new Set(), chunks: c.chunks };
    if (contrib.values.length !== c.total || contrib.chunks !== c.chunks) {
      throw new CollectiveProtocolError(`rank ${c.rank} round ${c.round}: chunks disagree about the contribution's size`);
    }
    if (contrib.chunksSeen.has(c.chunk)) return false;
    placeChunk(contrib.values, c);
    contrib.chunksSeen.add(c.chunk);
    return true;
  }

  /** Peers whose contribution to `round` is not complete yet. */
  missing(round: number): number[] {
    const slots = this.rounds.get(round);
    const out: number[] = [];
    for (let r = 0; r < this.worldSize; r++) {
      if (r === this.rank) continue;
      const c = slots?.[r];
      if (!c || c.chunksSeen.size < c.chunks) out.push(r);
    }
    return out;
  }

  complete(round: number): boolean {
    return this.missing(round).length === 0;
  }

  /** The rank-ordered sum of `round` with this rank's own `values` in its slot. */
  sum(round: number, values: Float32Array): Float32Array {
    const slots = this.rounds.get(round) ?? [];
    const all = Array.from({ length: this.worldSize }, (_, r) => (r === this.rank ? values : slots[r]!.values));
    for (const c of all) {
      if (c.length !== values.length) throw new CollectiveProtocolError(`round ${round}: contributions of ${c.length} and ${values.length} values`);
    }
    this.rounds.delete(round);
    return sumInRankOrder(all);
  }
}
