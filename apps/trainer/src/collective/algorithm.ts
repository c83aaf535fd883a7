import { shardRange } from '@mnist/data';
import { CollectiveProtocolError } from './errors.js';
import type { RoundBuffer } from './round-buffer.js';
import { clock, type CollectiveStatsMeter } from './stats.js';
import type { CollectiveTransport } from './transport.js';
import { ALL_SLICES, PHASE, sumInRankOrder, type ChunkHeader, type Phase } from './wire.js';

/**
 * direct: every rank sends its whole vector to every other and sums all of them itself
 * (each rank receives (N-1)·G bytes a round). reduce-scatter: rank r owns slice r; the
 * others send it their part of that slice, it sums the slice and sends the result to all
 * (two hops; each rank receives about 2·G whatever N is).
 */
export type CollectiveAlgorithm = 'direct' | 'reduce-scatter';

/**
 * auto: with two ranks both move the same bytes (each receives G), and direct does it in one
 * hop instead of two; from three ranks on, reduce-scatter's traffic stays flat while direct's grows.
 */
export function resolveAlgorithm(choice: CollectiveAlgorithm | 'auto', worldSize: number): CollectiveAlgorithm {
  return choice === 'auto' ? (worldSize <= 2 ? 'direct' : 'reduce-scatter') : choice;
}

/** Slice `owner` of a vector of `length` over `worldSize` reducers: the same split as the data shards. */
export function sliceOf(length: number, worldSize: number, owner: number): [number, number] {
  const { start, end } = shardRange(length, owner, worldSize);
  return [start, end];
}

/** One round in progress on this rank. */
export interface RoundState {
  readonly round: number;
  readonly values: Float32Array;
  readonly out: Float32Array;
  /** This rank's reduce range is summed (and, in reduce-scatter, sent). */
  reduced: boolean;
  /** Owners whose reduced slice is copied into `out`. */
  readonly gathered: Set<number>;
}

/** What a rank keeps of its recent rounds, to answer resend requests on a lossy transport. */
export interface SentRound {
  values: Float32Array;
  reduced?: Float32Array;
}

interface Deps {
  rank: number;
  worldSize: number;
  transport: CollectiveTransport;
  buffer: RoundBuffer;
  meter: CollectiveStatsMeter;
}

/**
 * The all-reduce as a per-round state machine over a transport: `scatter` sends this rank's
 * contributions, `advance` takes in whatever has arrived (it may send: reduce-scatter's
 * gather) and says when `out` is complete. Either way each element is summed by one reducer
 * over all ranks' contributions in rank order, so every rank gets the same bits.
 */
export class AllReduceAlgorithm {
  readonly peers: number[];

  constructor(
    readonly name: CollectiveAlgorithm,
    private readonly d: Deps,
  ) {
    this.peers = Array.from({ length: d.worldSize }, (_, r) => r).filter((r) => r !== d.rank);
  }

  /** This rank's contribution: the whole vector to everyone (direct), or each owner's slice to it. */
  scatter(round: number, values: Float32Array, sentAt: number, onlyTo?: number): void {
    const header = { round, rank: this.d.rank, phase: PHASE.scatter, sentAt };
    if (this.name === 'direct') {
      this.d.meter.sent(this.d.transport.send(onlyTo ?? 'all', { ...header, slice: ALL_SLICES }, values));
      return;
    }
    for (const owner of this.peers) {
      if (onlyTo !== undefined && owner !== onlyTo) continue;
      const [from, to] = sliceOf(values.length, this.d.worldSize, owner);
      this.d.meter.sent(this.d.transport.send(owner, { ...header, slice: owner }, values.subarray(from, to)));
    }
  }

  /** Sums what is complete, sends this rank's reduced slice, copies the others' in; true when all is there. */
  advance(p: RoundState, sent: SentRound | undefined): boolean {
    const { rank, worldSize, buffer } = this.d;
    const [from, to] = this.ownRange(p.values.length);
    if (!p.reduced) {
      const parts: Float32Array[] = [];
      for (let r = 0; r < worldSize; r++) {
        const part = r === rank ? p.values.subarray(from, to) : buffer.get(p.round, PHASE.scatter, r);
        if (!part) return false;
        if (part.length !== to - from)
          throw new CollectiveProtocolError(
            `round ${p.round}: rank ${r} sent ${part.length} values for a part of ${to - from}`,
          );
        parts.push(part);
      }
      const t0 = performance.now();
      const reduced = sumInRankOrder(parts, p.out.subarray(from, to));
      this.d.meter.summed(performance.now() - t0);
      p.reduced = true;
      if (this.name === 'reduce-scatter') {
        if (sent) sent.reduced = reduced;
        this.sendReduced(p.round, reduced);
      }
    }
    if (this.name === 'direct') return true;
    for (const owner of this.peers) {
      if (p.gathered.has(owner)) continue;
      const slice = buffer.get(p.round, PHASE.gather, owner);
      if (!slice) continue;
      const [start, end] = sliceOf(p.values.length, worldSize, owner);
      if (slice.length !== end - start)
        throw new CollectiveProtocolError(
          `round ${p.round}: rank ${owner} reduced ${slice.length} values for a slice of ${end - start}`,
        );
      p.out.set(slice, start);
      p.gathered.add(owner);
    }
    return p.gathered.size === this.peers.length;
  }

  /** Ranks a round still waits for: senders of this rank's parts, then owners of the other slices. */
  missing(p: RoundState): { phase: Phase; ranks: number[] } {
    if (!p.reduced)
      return { phase: PHASE.scatter, ranks: this.peers.filter((r) => !this.d.buffer.get(p.round, PHASE.scatter, r)) };
    return { phase: PHASE.gather, ranks: this.peers.filter((r) => !p.gathered.has(r)) };
  }

  /** Answers a peer that missed this rank's part of a round; false when it is not ready yet (it goes out by itself). */
  resend(round: number, phase: Phase, to: number, sent: SentRound | undefined): boolean {
    if (phase === PHASE.gather) {
      if (!sent?.reduced) return false;
      this.sendReduced(round, sent.reduced, to);
    } else {
      if (!sent) return false;
      this.scatter(round, sent.values, clock(), to);
    }
    return true;
  }

  /**
   * The floats a part must have, given the current round's vector length (undefined for a part
   * that arrived before this rank entered its round: checked when it is used). Throws when a
   * peer sends a slice or phase that this algorithm never sends: the group disagrees.
   */
  partLength(c: ChunkHeader, length: number | undefined): number | undefined {
    const ok =
      c.phase === PHASE.gather
        ? this.name === 'reduce-scatter' && c.slice === c.rank
        : c.slice === (this.name === 'direct' ? ALL_SLICES : this.d.rank);
    if (!ok)
      throw new CollectiveProtocolError(
        `rank ${c.rank} sent slice ${c.slice} in phase ${c.phase}: the group disagrees about the algorithm`,
      );
    if (length === undefined) return undefined;
    const [from, to] = c.phase === PHASE.gather ? sliceOf(length, this.d.worldSize, c.slice) : this.ownRange(length);
    return to - from;
  }

  /** This rank's reduce range: the whole vector (direct) or its own slice. */
  private ownRange(length: number): [number, number] {
    return this.name === 'direct' ? [0, length] : sliceOf(length, this.d.worldSize, this.d.rank);
  }

  private sendReduced(round: number, reduced: Float32Array, to: number | 'all' = 'all'): void {
    const header = { round, rank: this.d.rank, slice: this.d.rank, phase: PHASE.gather, sentAt: clock() };
    this.d.meter.sent(this.d.transport.send(to, header, reduced));
  }
}
