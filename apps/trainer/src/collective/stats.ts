import { PHASE, type ChunkHeader } from './wire.js';

/** Milliseconds on this process's clock, sub-millisecond: send times ride in every chunk header. */
export const clock = (): number => performance.timeOrigin + performance.now();

/**
 * Where an all-reduce round's time goes, as means per round since the last `take()`:
 *   roundMs  the whole call (publish, wait, sum);
 *   waitMs   after this rank's parts are out, until the round is complete;
 *   skewMs   how much later than this rank the last peer entered the round (its compute:
 *            time no network can save);
 *   hopMs    per message, from the sender's publish to this rank's handler (client buffers,
 *            broker, wire, event-loop delays);
 *   sumMs    adding the parts this rank reduces.
 * Skew and hop compare clocks of two processes: exact on one host, approximate across hosts.
 * Bytes count whole messages (header included) this rank published and received.
 */
export interface CollectiveStats {
  rounds: number;
  meanRoundMs: number;
  meanWaitMs: number;
  meanSkewMs: number;
  meanHopMs: number;
  meanSumMs: number;
  bytesSent: number;
  bytesReceived: number;
}

const EMPTY = {
  rounds: 0,
  roundMs: 0,
  waitMs: 0,
  skewMs: 0,
  hopMs: 0,
  hops: 0,
  sumMs: 0,
  bytesSent: 0,
  bytesReceived: 0,
};

export class CollectiveStatsMeter {
  private acc = { ...EMPTY };
  private round = -1;
  private enteredAt = 0;
  /** Latest scatter sentAt of a peer seen for the current round. */
  private lastPeerEnter = 0;

  enter(round: number, at: number): void {
    this.round = round;
    this.enteredAt = at;
    this.lastPeerEnter = at;
  }

  received(bytes: number, hopMs: number, h: ChunkHeader): void {
    this.acc.bytesReceived += bytes;
    this.acc.hopMs += hopMs;
    this.acc.hops++;
    if (h.phase === PHASE.scatter && h.round === this.round)
      this.lastPeerEnter = Math.max(this.lastPeerEnter, h.sentAt);
  }

  sent(bytes: number): void {
    this.acc.bytesSent += bytes;
  }

  summed(ms: number): void {
    this.acc.sumMs += ms;
  }

  leave(enteredAt: number, publishedAt: number, completedAt: number): void {
    this.acc.rounds++;
    this.acc.roundMs += completedAt - enteredAt;
    this.acc.waitMs += completedAt - publishedAt;
    this.acc.skewMs += this.lastPeerEnter - this.enteredAt;
  }

  take(): CollectiveStats {
    const a = this.acc;
    this.acc = { ...EMPTY };
    const mean = (x: number, n = a.rounds) => (n ? Number((x / n).toFixed(3)) : 0);
    return {
      rounds: a.rounds,
      meanRoundMs: mean(a.roundMs),
      meanWaitMs: mean(a.waitMs),
      meanSkewMs: mean(a.skewMs),
      meanHopMs: mean(a.hopMs, a.hops),
      meanSumMs: mean(a.sumMs),
      bytesSent: a.bytesSent,
      bytesReceived: a.bytesReceived,
    };
  }
}
