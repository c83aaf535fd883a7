import { endianness } from 'node:os';
import type { NatsConnection, Subscription } from '@nats-io/transport-node';
import { silentLogger, type Logger } from '@mnist/cluster';
import type { Collective } from '@mnist/training';
import { CollectiveAbortedError, CollectiveError, CollectiveProtocolError, CollectiveTimeoutError } from './errors.js';
import { RoundBuffer } from './round-buffer.js';
import { decodeChunk, encodeChunks, HEADER_BYTES } from './wire.js';

export interface NatsCollectiveOptions {
  nc: NatsConnection;
  /** NATS_NAMES.collectivePrefix(jobId, attempt): a fresh namespace per attempt. */
  prefix: string;
  rank: number;
  worldSize: number;
  /** A round with a missing contribution after this long fails the attempt. */
  timeoutMs: number;
  /** Used instead for the first round and after `expectSlowRound()` (loading, rank 0's eval + checkpoint). */
  slowRoundTimeoutMs: number;
  /** Ask a silent peer to send its contribution again after this long (lost while reconnecting). */
  resendAfterMs?: number;
  /** Largest message payload; the server's max_payload (1 MB default) bounds it. */
  maxPayloadBytes?: number;
  /** Aborts the group: pending and later rounds reject, peers are told. */
  signal?: AbortSignal;
  log?: Logger;
}

type Control =
  | { type: 'resend'; round: number; from: number; to: number }
  | { type: 'abort'; from: number; reason: string; fatal: boolean };

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/**
 * All-reduce over core NATS. Each rank publishes its contribution on `<prefix>.g.<rank>`
 * (chunked under the payload limit) and subscribes to every other rank's subject; when a
 * round has all contributions, each rank sums them in rank order, so every rank gets the
 * same bits. Core NATS may drop messages (a peer reconnecting after a broker restart), so
 * a rank that waits too long asks the silent peer to resend (`<prefix>.ctl`); each rank
 * keeps its last two contributions for that, which is enough because no rank can be more
 * than one round ahead of another.
 */
export class NatsCollective implements Collective {
  readonly rank: number;
  readonly worldSize: number;
  private readonly subs: Subscription[] = [];
  private readonly buffer: RoundBuffer;
  private readonly sent = new Map<number, Float32Array>();
  private readonly maxFloats: number;
  private readonly log: Logger;
  private round = 0;
  private stats = { rounds: 0, waitMs: 0, totalMs: 0 };
  private slowNext = true;
  private failure: CollectiveError | undefined;
  private waiter: { resolve: () => void; reject: (e: Error) => void } | undefined;

  private constructor(private readonly o: NatsCollectiveOptions) {
    this.rank = o.rank;
    this.worldSize = o.worldSize;
    this.buffer = new RoundBuffer(o.rank, o.worldSize);
    this.maxFloats = Math.floor(((o.maxPayloadBytes ?? o.nc.info?.max_payload ?? 1_048_576) - HEADER_BYTES - 1024) / 4);
    this.log = (o.log ?? silentLogger).child({ collective: o.prefix, rank: o.rank });
  }

  /** Subscribes and waits until the server has the subscriptions, so the first round's messages are not missed. */
  static async open(o: NatsCollectiveOptions): Promise<NatsCollective> {
    if (endianness() !== 'LE') throw new CollectiveProtocolError('the gradient wire format assumes a little-endian host');
    const c = new NatsCollective(o);
    for (let peer = 0; peer < o.worldSize; peer++) {
      if (peer === o.rank) continue;
      c.subs.push(o.nc.subscribe(`${o.prefix}.g.${peer}`, { callback: (err, msg) => (err ? c.fail(c.asError(err)) : c.onChunk(msg.data)) }));
    }
    c.subs.push(o.nc.subscribe(`${o.prefix}.ctl`, { callback: (err, msg) => (err ? undefined : c.onControl(msg.data)) }));
    if (o.signal) {
      if (o.signal.aborted) c.abort(reasonText(o.signal.reason), false);
      else o.signal.addEventListener('abort', () => c.abort(reasonText(o.signal!.reason), false), { once: true });
    }
    await o.nc.flush();
    return c;
  }

  /** The next round may be slow (rank 0 evaluates and checkpoints at epoch ends): use the long timeout once. */
  expectSlowRound(): void {
    this.slowNext = true;
  }

  async allReduceSum(values: Float32Array): Promise<Float32Array> {
    if (this.failure) throw this.failure;
    const started = performance.now();
    const round = this.round;
    const timeoutMs = this.slowNext ? this.o.slowRoundTimeoutMs : this.o.timeoutMs;
    this.slowNext = false;
    this.buffer.enter(round, values.length);
    this.sent.set(round, values);
    this.sent.delete(round - 2);
    this.publish(round, values);

    const published = performance.now();
    if (!this.buffer.complete(round)) await this.waitForRound(round, timeoutMs);
    const arrived = performance.now();
    const sum = this.buffer.sum(round, values);
    this.round++;
    this.stats.rounds++;
    this.stats.waitMs += arrived - published;
    this.stats.totalMs += performance.now() - started;
    return sum;
  }

  /**
   * Rounds since the last call, with the mean time per round in all (encode, publish,
   * wait, sum) and waiting for peers alone (their compute, skew and the network): the
   * communication cost an operator compares with the step time.
   */
  takeStats(): { rounds: number; meanRoundMs: number; meanWaitMs: number } {
    const { rounds, waitMs, totalMs } = this.stats;
    this.stats = { rounds: 0, waitMs: 0, totalMs: 0 };
    const mean = (x: number) => (rounds ? Number((x / rounds).toFixed(2)) : 0);
    return { rounds, meanRoundMs: mean(totalMs), meanWaitMs: mean(waitMs) };
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

  private waitForRound(round: number, timeoutMs: number): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      if (this.failure) return reject(this.failure);
      const resendAfter = this.o.resendAfterMs ?? 1_000;
      const nudge = setInterval(() => {
        for (const peer of this.buffer.missing(round)) this.publishControl({ type: 'resend', round, from: this.rank, to: peer });
      }, resendAfter);
      const deadline = setTimeout(() => {
        const err = new CollectiveTimeoutError(round, this.buffer.missing(round), timeoutMs);
        this.log.warn('collective.timeout', { round, missing: err.missingRanks, timeoutMs });
        // Tell the others at once rather than let each of them time out too.
        this.publishControl({ type: 'abort', from: this.rank, reason: err.message, fatal: false });
        this.fail(err);
      }, timeoutMs);
      const done = () => {
        clearInterval(nudge);
        clearTimeout(deadline);
        this.waiter = undefined;
      };
      this.waiter = {
        resolve: () => (done(), resolve()),
        reject: (e) => (done(), reject(e)),
      };
    });
  }

  private onChunk(data: Uint8Array): void {
    try {
      const chunk = decodeChunk(data);
      if (this.buffer.add(chunk, this.round) && this.waiter && this.buffer.complete(this.round)) this.waiter.resolve();
    } catch (err) {
      this.fail(err instanceof CollectiveError ? err : new CollectiveProtocolError((err as Error).message));
    }
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
      const values = this.sent.get(msg.round);
      this.log.info('collective.resend', { round: msg.round, for: msg.from, have: values !== undefined });
      if (values) this.publish(msg.round, values);
    }
  }

  private publish(round: number, values: Float32Array): void {
    for (const chunk of encodeChunks(round, this.rank, values, this.maxFloats)) this.o.nc.publish(`${this.o.prefix}.g.${this.rank}`, chunk);
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
    this.waiter?.reject(this.failure);
  }

  private asError(err: Error): CollectiveError {
    return new CollectiveError(`subscription failed: ${err.message}`, false, { cause: err });
  }
}

function reasonText(reason: unknown): string {
  return reason instanceof Error ? reason.message : String(reason ?? 'aborted');
}
