import { silentLogger, type Logger } from '@mnist/core';
import type { Collective } from '@mnist/training';
import {
  AllReduceAlgorithm,
  resolveAlgorithm,
  type CollectiveAlgorithm,
  type RoundState,
  type SentRound,
} from './algorithm.js';
import { CollectiveAbortedError, CollectiveError, CollectiveProtocolError, CollectiveTimeoutError } from './errors.js';
import { RoundBuffer } from './round-buffer.js';
import { clock, CollectiveStatsMeter, type CollectiveStats } from './stats.js';
import type { Control, CollectiveTransport } from './transport.js';
import type { DecodedChunk } from './wire.js';

export interface GroupCollectiveOptions {
  transport: CollectiveTransport;
  rank: number;
  worldSize: number;
  algorithm?: CollectiveAlgorithm | 'auto';
  /** A round with a missing part after this long fails the attempt. */
  timeoutMs: number;
  /** Used instead for the first round and after `expectSlowRounds()` (loading, evaluation, rank 0's checkpoint). */
  slowRoundTimeoutMs: number;
  /** On a lossy transport, ask a silent peer to send its part again after this long. */
  resendAfterMs?: number;
  /** Aborts the group: pending and later rounds reject, peers are told. */
  signal?: AbortSignal;
  log?: Logger;
}

interface Pending extends RoundState {
  resolve: () => void;
  reject: (e: Error) => void;
}

/**
 * The reliability layer of the collective, the same over every transport: rounds in order,
 * a deadline per round (naming the silent ranks), resend requests where the transport may
 * lose parts, and aborts that stop the whole group at once with the reason (a local
 * cancel, a peer's error, a peer's closed socket).
 */
export class GroupCollective implements Collective {
  readonly rank: number;
  readonly worldSize: number;
  readonly algorithm: AllReduceAlgorithm;
  private readonly buffer: RoundBuffer;
  private readonly sent = new Map<number, SentRound>();
  private readonly outs: (Float32Array | undefined)[] = [undefined, undefined];
  private readonly log: Logger;
  private readonly meter = new CollectiveStatsMeter();
  private round = 0;
  private slowRounds = 1; // the first: every rank loads data and the checkpoint
  private failure: CollectiveError | undefined;
  private pending: Pending | undefined;

  constructor(private readonly o: GroupCollectiveOptions) {
    this.rank = o.rank;
    this.worldSize = o.worldSize;
    this.buffer = new RoundBuffer(o.worldSize);
    this.algorithm = new AllReduceAlgorithm(resolveAlgorithm(o.algorithm ?? 'auto', o.worldSize), {
      rank: o.rank,
      worldSize: o.worldSize,
      transport: o.transport,
      buffer: this.buffer,
      meter: this.meter,
    });
    this.log = (o.log ?? silentLogger).child({ transport: o.transport.kind });
    o.transport.listen({
      chunk: (c, bytes) => this.onChunk(c, bytes),
      control: (m) => this.onControl(m),
      failed: (e) => this.fail(e),
    });
    if (o.signal) {
      if (o.signal.aborted) this.abort(reasonText(o.signal.reason), false);
      else o.signal.addEventListener('abort', () => this.abort(reasonText(o.signal!.reason), false), { once: true });
    }
  }

  /**
   * The next `rounds` rounds may be slow (evaluation, rank 0's checkpoint at epoch ends): use the
   * long timeout for them.
   */
  expectSlowRounds(rounds: number): void {
    this.slowRounds = Math.max(this.slowRounds, rounds);
  }

  /** The sum over all ranks. The returned array is this collective's: it is reused two calls later. */
  async allReduceSum(values: Float32Array): Promise<Float32Array> {
    if (this.failure) throw this.failure;
    const round = this.round;
    const timeoutMs = this.slowRounds > 0 ? this.o.slowRoundTimeoutMs : this.o.timeoutMs;
    this.slowRounds = Math.max(0, this.slowRounds - 1);
    const enteredAt = clock();
    this.meter.enter(round, enteredAt);
    this.buffer.enter(round);
    const sent: SentRound = { values };
    this.sent.set(round, sent);
    this.sent.delete(round - 2);
    this.algorithm.scatter(round, values, enteredAt);

    const done = new Promise<void>((resolve, reject) => {
      this.pending = {
        round,
        values,
        out: this.outFor(round, values.length),
        reduced: false,
        gathered: new Set(),
        resolve,
        reject,
      };
      if (this.failure) reject(this.failure);
    });
    const publishedAt = clock();
    this.progress(); // parts that arrived early
    await this.waitForRound(done, round, timeoutMs);
    // Our parts must be out before the rank computes again, or a peer waits for our compute.
    await this.o.transport.flushed();
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
    this.o.transport.control({ type: 'abort', from: this.rank, reason, fatal });
    this.fail(new CollectiveAbortedError(reason, this.rank, fatal));
  }

  close(): void {
    if (!this.failure) this.fail(new CollectiveAbortedError('collective closed', this.rank, false));
    this.o.transport.close();
  }

  private outFor(round: number, length: number): Float32Array {
    const slot = round & 1;
    const out = this.outs[slot]?.length === length ? this.outs[slot] : new Float32Array(length);
    return (this.outs[slot] = out);
  }

  private progress(): void {
    const p = this.pending;
    if (!p || this.failure) return;
    try {
      if (this.algorithm.advance(p, this.sent.get(p.round))) p.resolve();
    } catch (err) {
      this.fail(asCollectiveError(err));
    }
  }

  private waitForRound(done: Promise<void>, round: number, timeoutMs: number): Promise<void> {
    const p = this.pending!;
    const nudge = this.o.transport.reliable
      ? undefined
      : setInterval(() => {
          const { phase, ranks } = this.algorithm.missing(p);
          for (const peer of ranks)
            this.o.transport.control({ type: 'resend', round, from: this.rank, to: peer, phase });
        }, this.o.resendAfterMs ?? 1_000);
    const deadline = setTimeout(() => {
      const err = new CollectiveTimeoutError(round, this.algorithm.missing(p).ranks, timeoutMs);
      this.log.warn('collective.timeout', { round, missing: err.missingRanks, timeoutMs });
      // Tell the others at once rather than let each of them time out too.
      this.o.transport.control({ type: 'abort', from: this.rank, reason: err.message, fatal: false });
      this.fail(err);
    }, timeoutMs);
    return done.finally(() => {
      clearInterval(nudge);
      clearTimeout(deadline);
    });
  }

  private onChunk(chunk: DecodedChunk, wireBytes: number): void {
    try {
      this.meter.received(wireBytes, clock() - chunk.sentAt, chunk);
      const length = this.pending?.round === chunk.round ? this.pending.values.length : undefined;
      if (
        this.buffer.add(chunk, this.round, this.algorithm.partLength(chunk, length)) &&
        this.pending?.round === chunk.round
      )
        this.progress();
    } catch (err) {
      this.fail(asCollectiveError(err));
    }
  }

  private onControl(msg: Control): void {
    if (msg.type === 'abort' && msg.from !== this.rank) {
      this.log.warn('collective.peer_aborted', { from: msg.from, reason: msg.reason, fatal: msg.fatal });
      this.fail(new CollectiveAbortedError(msg.reason, msg.from, msg.fatal));
    } else if (msg.type === 'resend' && msg.to === this.rank) {
      const had = this.algorithm.resend(msg.round, msg.phase, msg.from, this.sent.get(msg.round));
      this.log.info('collective.resend', { round: msg.round, for: msg.from, phase: msg.phase, have: had });
    }
  }

  private fail(err: CollectiveError): void {
    this.failure ??= err;
    this.pending?.reject(this.failure);
  }
}

function asCollectiveError(err: unknown): CollectiveError {
  return err instanceof CollectiveError ? err : new CollectiveProtocolError((err as Error).message);
}

function reasonText(reason: unknown): string {
  return reason instanceof Error ? reason.message : String(reason ?? 'aborted');
}
