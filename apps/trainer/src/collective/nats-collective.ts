import { endianness } from 'node:os';
import type { NatsConnection, Subscription } from '@nats-io/transport-node';
import { silentLogger, type Logger } from '@mnist/core';
import { shardRange } from '@mnist/data';
import type { Collective } from '@mnist/training';
import { CollectiveAbortedError, CollectiveError, CollectiveProtocolError, CollectiveTimeoutError } from './errors.js';
import { RoundBuffer } from './round-buffer.js';
import { CollectiveStatsMeter, type CollectiveStats } from './stats.js';
import { ALL_SLICES, decodeChunk, encodeChunks, HEADER_BYTES, PHASE, sumInRankOrder, type DecodedChunk, type Phase } from './wire.js';

/**
 * direct: every rank sends its whole vector to every other and sums all of them itself
 * (one broker hop; each rank receives (N-1)·G bytes a round, the broker sends N·(N-1)·G).
 * reduce-scatter: rank r owns slice r; the others send it their part of that slice, it sums
 * the slice and publishes the result (two hops; each rank receives about 2·G whatever N is).
 */
export type CollectiveAlgorithm = 'direct' | 'reduce-scatter';
export const COLLECTIVE_ALGORITHMS = ['auto', 'direct', 'reduce-scatter'] as const;
export type CollectiveAlgorithmChoice = (typeof COLLECTIVE_ALGORITHMS)[number];

/**
 * auto: with two ranks both move the same bytes (each receives G), and direct does it in one
 * hop instead of two; from three ranks on, reduce-scatter's traffic stays flat while direct's grows.
 */
export function resolveAlgorithm(choice: CollectiveAlgorithmChoice, worldSize: number): CollectiveAlgorithm {
  return choice === 'auto' ? (worldSize <= 2 ? 'direct' : 'reduce-scatter') : choice;
}

export interface NatsCollectiveOptions {
  nc: NatsConnection;
  /** NATS_NAMES.collectivePrefix(jobId, attempt): a fresh namespace per attempt. */
  prefix: string;
  rank: number;
  worldSize: number;
  algorithm?: CollectiveAlgorithmChoice;
  /** A round with a missing part after this long fails the attempt. */
  timeoutMs: number;
  /** Used instead for the first round and after `expectSlowRounds()` (loading, evaluation, rank 0's checkpoint). */
  slowRoundTimeoutMs: number;
  /** Ask a silent peer to send its part again after this long (lost while reconnecting). */
  resendAfterMs?: number;
  /** Largest message payload; the server's max_payload (1 MB default) bounds it. */
  maxPayloadBytes?: number;
  /** Aborts the group: pending and later rounds reject, peers are told. */
  signal?: AbortSignal;
  log?: Logger;
}

type Control =
  | { type: 'resend'; round: number; from: number; to: number; phase: Phase }
  | { type: 'abort'; from: number; reason: string; fatal: boolean };

interface Pending {
  round: number;
  values: Float32Array;
  out: Float32Array;
  /** This rank's reduce range is summed (and, in reduce-scatter, published). */
  reduced: boolean;
  /** Owners whose reduced slice is copied into `out`. */
  gathered: Set<number>;
  resolve: () => void;
  reject: (e: Error) => void;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const clock = () => performance.timeOrigin + performance.now();
/** Slice `owner` of a vector of `length` over `worldSize` reducers: the same split as the data shards. */
const sliceOf = (length: number, worldSize: number, owner: number): [number, number] => {
  const { start, end } = shardRange(length, owner, worldSize);
  return [start, end];
};

/**
 * All-reduce over core NATS, in one of two algorithms (see CollectiveAlgorithm). Either
 * way every element is summed by one reducer over all ranks' contributions in rank order,
 * so every rank gets the same bits. Core NATS may drop messages (a peer reconnecting after
 * a broker restart), so a rank that waits too long asks the silent peer to resend
 * (`<prefix>.ctl`); each rank keeps its last two rounds for that, which is enough because
 * no rank can be more than one round ahead of another.
 */
export class NatsCollective implements Collective {
  readonly rank: number;
  readonly worldSize: number;
  readonly algorithm: CollectiveAlgorithm;
  private readonly subs: Subscription[] = [];
  private readonly buffer: RoundBuffer;
  private readonly sent = new Map<number, { values: Float32Array; reduced?: Float32Array }>();
  private readonly maxFloats: number;
  private readonly log: Logger;
  private readonly meter = new CollectiveStatsMeter();
  private round = 0;
  private slowRounds = 1; // the first: every rank loads data and the checkpoint
  private failure: CollectiveError | undefined;
  private pending: Pending | undefined;

  private constructor(private readonly o: NatsCollectiveOptions) {
    this.rank = o.rank;
    this.worldSize = o.worldSize;
    this.algorithm = resolveAlgorithm(o.algorithm ?? 'auto', o.worldSize);
    this.buffer = new RoundBuffer(o.worldSize);
    this.maxFloats = Math.floor(((o.maxPayloadBytes ?? o.nc.info?.max_payload ?? 1_048_576) - HEADER_BYTES - 1024) / 4);
    this.log = (o.log ?? silentLogger).child({ collective: o.prefix, rank: o.rank });
  }

  /** Subscribes and waits until the server has the subscriptions, so the first round's messages are not missed. */
  static async open(o: NatsCollectiveOptions): Promise<NatsCollective> {
    if (endianness() !== 'LE') throw new CollectiveProtocolError('the gradient wire format assumes a little-endian host');
    const c = new NatsCollective(o);
    const onData = (err: Error | null, data: Uint8Array) => (err ? c.fail(c.asError(err)) : c.onChunk(data));
    const subjects =
      c.algorithm === 'direct'
        ? c.peers().map((p) => c.subject('d', p))
        : [c.subject('s', o.rank), ...c.peers().map((p) => c.subject('a', p))];
    for (const s of subjects) c.subs.push(o.nc.subscribe(s, { callback: (err, msg) => onData(err, msg.data) }));
    c.subs.push(o.nc.subscribe(`${o.prefix}.ctl`, { callback: (err, msg) => (err ? undefined : c.onControl(msg.data)) }));
    if (o.signal) {
      if (o.signal.aborted) c.abort(reasonText(o.signal.reason), false);
      else o.signal.addEventListener('abort', () => c.abort(reasonText(o.signal!.reason), false), { once: true });
    }
    await o.nc.flush();
    return c;
  }

  /** The next `rounds` rounds may be slow (evaluation, rank 0's checkpoint at epoch ends): use the long timeout for them. */
  expectSlowRounds(rounds: number): void {
    this.slowRounds = Math.max(this.slowRounds, rounds);
  }

  async allReduceSum(values: Float32Array): Promise<Float32Array> {
    if (this.failure) throw this.failure;
    const round = this.round;
    const timeoutMs = this.slowRounds > 0 ? this.o.slowRoundTimeoutMs : this.o.timeoutMs;
    this.slowRounds = Math.max(0, this.slowRounds - 1);
    const enteredAt = clock();
    this.meter.enter(round, enteredAt);
    this.buffer.enter(round);
    this.sent.set(round, { values });
    this.sent.delete(round - 2);
    this.publishScatter(round, values, enteredAt);

    const done = new Promise<void>((resolve, reject) => {
      this.pending = { round, values, out: new Float32Array(values.length), reduced: false, gathered: new Set(), resolve, reject };
      if (this.failure) reject(this.failure);
    });
    const publishedAt = clock();
    this.progress(); // parts that arrived early
    await this.waitForRound(done, round, timeoutMs);
    const out = this.pending!.out;
    this.pending = undefined;
    this.round++;
    this.meter.leave(enteredAt, publishedAt, clock());
    return out;
  }

  /** Counters since the last call: what an operator compares with the step time. */
  takeStats(): CollectiveStats {
    return this.meter.take();
  }

  /** Stops the group: tells the peers (once) why, and fails this rank's pending and later rounds. */
  abort(reason: string, fatal: boolean): void {
    if (this.failure) return;
    this.publishControl({ type: 'abort', from: this.rank, reason, fatal });
    this.fail(new CollectiveAbortedError(reason, this.rank, fatal));
  }

  close(): void {
    for (const s of this.subs) s.unsubscribe();
    this.subs.length = 0;
    if (!this.failure) this.fail(new CollectiveAbortedError('collective closed', this.rank, false));
  }

  private peers(): number[] {
    return Array.from({ length: this.worldSize }, (_, r) => r).filter((r) => r !== this.rank);
  }

  private subject(kind: 'd' | 's' | 'a', rank: number): string {
    return `${this.o.prefix}.${kind}.${rank}`;
  }

  /** This rank's reduce range: the whole vector (direct) or its own slice. */
  private ownRange(length: number): [number, number] {
    return this.algorithm === 'direct' ? [0, length] : sliceOf(length, this.worldSize, this.rank);
  }

  /** Sum what is complete, publish this rank's reduced slice, copy the others' in; resolve when all is there. */
  private progress(): void {
    const p = this.pending;
    if (!p || this.failure) return;
    const [from, to] = this.ownRange(p.values.length);
    if (!p.reduced) {
      const parts: Float32Array[] = [];
      for (let r = 0; r < this.worldSize; r++) {
        const part = r === this.rank ? p.values.subarray(from, to) : this.buffer.get(p.round, PHASE.scatter, r);
        if (!part) return;
        if (part.length !== to - from) return this.fail(new CollectiveProtocolError(`round ${p.round}: rank ${r} sent ${part.length} values for a part of ${to - from}`));
        parts.push(part);
      }
      const t0 = performance.now();
      const reduced = sumInRankOrder(parts, p.out.subarray(from, to));
      this.meter.summed(performance.now() - t0);
      p.reduced = true;
      if (this.algorithm === 'reduce-scatter') {
        this.sent.get(p.round)!.reduced = reduced;
        this.publishPart(this.subject('a', this.rank), { round: p.round, rank: this.rank, slice: this.rank, phase: PHASE.gather, sentAt: clock() }, reduced);
      }
    }
    if (this.algorithm === 'reduce-scatter') {
      for (const owner of this.peers()) {
        if (p.gathered.has(owner)) continue;
        const slice = this.buffer.get(p.round, PHASE.gather, owner);
        if (!slice) continue;
        const [start, end] = sliceOf(p.values.length, this.worldSize, owner);
        if (slice.length !== end - start) return this.fail(new CollectiveProtocolError(`round ${p.round}: rank ${owner} reduced ${slice.length} values for a slice of ${end - start}`));
        p.out.set(slice, start);
        p.gathered.add(owner);
      }
      if (p.gathered.size < this.worldSize - 1) return;
    }
    p.resolve();
  }

  /** Ranks this round still waits for: senders of this rank's parts, then owners of the other slices. */
  private missing(round: number): { phase: Phase; ranks: number[] } {
    const p = this.pending;
    if (!p || !p.reduced) return { phase: PHASE.scatter, ranks: this.peers().filter((r) => !this.buffer.get(round, PHASE.scatter, r)) };
    return { phase: PHASE.gather, ranks: this.peers().filter((r) => !p.gathered.has(r)) };
  }

  private waitForRound(done: Promise<void>, round: number, timeoutMs: number): Promise<void> {
    const resendAfter = this.o.resendAfterMs ?? 1_000;
    const nudge = setInterval(() => {
      const { phase, ranks } = this.missing(round);
      for (const peer of ranks) this.publishControl({ type: 'resend', round, from: this.rank, to: peer, phase });
    }, resendAfter);
    const deadline = setTimeout(() => {
      const err = new CollectiveTimeoutError(round, this.missing(round).ranks, timeoutMs);
      this.log.warn('collective.timeout', { round, missing: err.missingRanks, timeoutMs });
      // Tell the others at once rather than let each of them time out too.
      this.publishControl({ type: 'abort', from: this.rank, reason: err.message, fatal: false });
      this.fail(err);
    }, timeoutMs);
    return done.finally(() => {
      clearInterval(nudge);
      clearTimeout(deadline);
    });
  }

  private onChunk(data: Uint8Array): void {
    try {
      const chunk = decodeChunk(data);
      this.meter.received(data.length, clock() - chunk.sentAt, chunk);
      if (this.buffer.add(chunk, this.round, this.expectedLength(chunk)) && this.pending?.round === chunk.round) this.progress();
    } catch (err) {
      this.fail(err instanceof CollectiveError ? err : new CollectiveProtocolError((err as Error).message));
    }
  }

  /**
   * The length a part of the current round must have; undefined for the next round's (rounds
   * may differ in length: gradients, then an evaluation's sums), checked when it is used.
   */
  private expectedLength(c: DecodedChunk): number | undefined {
    const ok =
      c.phase === PHASE.gather
        ? this.algorithm === 'reduce-scatter' && c.slice === c.rank
        : c.slice === (this.algorithm === 'direct' ? ALL_SLICES : this.rank);
    if (!ok) throw new CollectiveProtocolError(`rank ${c.rank} sent slice ${c.slice} in phase ${c.phase}: the group disagrees about the algorithm`);
    const length = this.pending?.round === c.round ? this.pending.values.length : undefined;
    if (length === undefined) return undefined;
    const [from, to] = c.phase === PHASE.gather ? sliceOf(length, this.worldSize, c.slice) : this.ownRange(length);
    return to - from;
  }

  private onControl(data: Uint8Array): void {
    let msg: Control;
    try {
      msg = JSON.parse(decoder.decode(data)) as Control;
    } catch {
      return this.log.warn('collective.bad_control_message');
    }
    if (msg.type === 'abort' && msg.from !== this.rank) {
      this.log.warn('collective.peer_aborted', { from: msg.from, reason: msg.reason, fatal: msg.fatal });
      this.fail(new CollectiveAbortedError(msg.reason, msg.from, msg.fatal));
    } else if (msg.type === 'resend' && msg.to === this.rank) {
      const sent = this.sent.get(msg.round);
      const have = msg.phase === PHASE.gather ? sent?.reduced : sent?.values;
      this.log.info('collective.resend', { round: msg.round, for: msg.from, phase: msg.phase, have: have !== undefined });
      if (!have) return; // a gather not reduced yet goes out by itself once its parts are here
      if (msg.phase === PHASE.gather) this.publishPart(this.subject('a', this.rank), { round: msg.round, rank: this.rank, slice: this.rank, phase: PHASE.gather, sentAt: clock() }, have);
      else this.publishScatter(msg.round, have, clock(), msg.from);
    }
  }

  /** This rank's contribution: the whole vector to everyone (direct), or each owner's slice to it. */
  private publishScatter(round: number, values: Float32Array, sentAt: number, onlyTo?: number): void {
    const header = { round, rank: this.rank, phase: PHASE.scatter, sentAt };
    if (this.algorithm === 'direct') return this.publishPart(this.subject('d', this.rank), { ...header, slice: ALL_SLICES }, values);
    for (const owner of this.peers()) {
      if (onlyTo !== undefined && owner !== onlyTo) continue;
      const [from, to] = sliceOf(values.length, this.worldSize, owner);
      this.publishPart(this.subject('s', owner), { ...header, slice: owner }, values.subarray(from, to));
    }
  }

  private publishPart(subject: string, header: Parameters<typeof encodeChunks>[0], values: Float32Array): void {
    for (const chunk of encodeChunks(header, values, this.maxFloats)) {
      this.o.nc.publish(subject, chunk);
      this.meter.sent(chunk.length);
    }
  }

  private publishControl(msg: Control): void {
    try {
      this.o.nc.publish(`${this.o.prefix}.ctl`, encoder.encode(JSON.stringify(msg)));
    } catch (err) {
      // A closed connection cannot carry the message; the peers will time out instead.
      this.log.warn('collective.control_publish_failed', { type: msg.type, error: err });
    }
  }

  private fail(err: CollectiveError): void {
    this.failure ??= err;
    this.pending?.reject(this.failure);
  }

  private asError(err: Error): CollectiveError {
    return new CollectiveError(`subscription failed: ${err.message}`, false, { cause: err });
  }
}

function reasonText(reason: unknown): string {
  return reason instanceof Error ? reason.message : String(reason ?? 'aborted');
}
