import type { TrainerInfo } from '@mnist/protocol';
import type { Assignment } from './group/messages.js';

/** Why a rank was told to stop; the abort reason of its signal. */
export type StopKind = 'cancelled' | 'superseded' | 'attempt-ended' | 'finished' | 'draining';

export class RankStoppedError extends Error {
  override readonly name = 'RankStoppedError';
  constructor(
    readonly kind: StopKind,
    message: string,
  ) {
    super(message);
  }
}

export type Activity =
  | { kind: 'idle' }
  /** Offered to a coordinator; waiting for its confirm or release (or the timer). */
  | { kind: 'reserved'; token: string; coordinator: string; jobId: string; timer: NodeJS.Timeout }
  | {
      kind: 'busy';
      jobId: string;
      rank: number;
      attempt?: number;
      stop: (reason: RankStoppedError) => void;
      /** An elastic rank: takes its place in a new group; resolves with why not, or undefined once it listens. */
      regroup?: (a: Assignment) => Promise<string | undefined>;
    };

/**
 * What this trainer is doing, for the pull loop (take tasks only when idle), the recruit
 * responder (offer only when idle), heartbeats and drain. Single-threaded: every change
 * is synchronous, so check-then-set needs no lock.
 */
export class TrainerActivity {
  private current: Activity = { kind: 'idle' };
  private draining = false;
  private readonly waiters = new Set<() => void>();

  constructor(private readonly onChange: () => void = () => undefined) {}

  get activity(): Activity {
    return this.current;
  }

  get isDraining(): boolean {
    return this.draining;
  }

  isIdle(): boolean {
    return this.current.kind === 'idle' && !this.draining;
  }

  set(next: Activity): void {
    if (this.current.kind === 'reserved' && next !== this.current) clearTimeout(this.current.timer);
    this.current = next;
    this.onChange();
    for (const w of [...this.waiters]) w();
  }

  /** An elastic group changed: this trainer's rank in the new one (heartbeats and status say it). */
  setRank(rank: number): void {
    if (this.current.kind === 'busy') this.set({ ...this.current, rank });
  }

  toIdle(): void {
    this.set({ kind: 'idle' });
  }

  startDraining(): void {
    this.draining = true;
    this.onChange();
    for (const w of [...this.waiters]) w();
  }

  /** Resolves true once idle, false if draining starts first. */
  waitUntilIdle(): Promise<boolean> {
    return new Promise((resolve) => {
      const check = () => {
        if (this.draining) return done(false);
        if (this.current.kind === 'idle') return done(true);
      };
      const done = (v: boolean) => {
        this.waiters.delete(check);
        resolve(v);
      };
      this.waiters.add(check);
      check();
    });
  }

  /** Resolves once nothing is held (idle), whether or not draining. */
  waitUntilFree(): Promise<void> {
    return new Promise((resolve) => {
      const check = () => {
        if (this.current.kind !== 'idle') return;
        this.waiters.delete(check);
        resolve();
      };
      this.waiters.add(check);
      check();
    });
  }

  /** The state part of the heartbeat. */
  info(): Pick<TrainerInfo, 'state' | 'jobId' | 'rank'> {
    const a = this.current;
    const job = a.kind === 'busy' ? { jobId: a.jobId, rank: a.rank } : {};
    if (this.draining) return { state: 'draining', ...job };
    if (a.kind === 'busy') return { state: 'busy', ...job };
    // A reservation lasts seconds; it shows as busy so nobody counts it as free capacity.
    return a.kind === 'reserved' ? { state: 'busy', jobId: a.jobId } : { state: 'idle' };
  }
}
