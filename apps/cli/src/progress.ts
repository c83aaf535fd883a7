import { formatInt } from '@mnist/report';
import type { StepProgress } from '@mnist/training';

function fmtEta(seconds: number): string {
  if (!Number.isFinite(seconds)) return '?';
  const s = Math.max(0, Math.round(seconds));
  return s >= 60 ? `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s` : `${s}s`;
}

export interface ProgressOptions {
  /** A terminal gets a redrawn bar; anything else gets an occasional plain line. */
  tty: boolean;
  /** Columns for the bar (terminal width). */
  columns?: number;
  /** Plain mode: seconds between lines. */
  plainEverySec?: number;
  now?: () => number;
}

/**
 * Per-step progress on stderr. On a TTY: one line, redrawn at most 10 times a second,
 * `label epoch 3/10 [█████░░░░] 52% 488/938 12,430 img/s loss 0.0412 ETA 3s`.
 * Elsewhere: one plain line every `plainEverySec` so logs stay readable.
 */
export class Progress {
  private lastDraw = 0;
  private drawn = false;
  private readonly now: () => number;

  constructor(
    private readonly out: { write(s: string): unknown },
    private readonly opts: ProgressOptions,
  ) {
    this.now = opts.now ?? (() => performance.now());
  }

  step(label: string, epochs: number, p: StepProgress): void {
    const t = this.now();
    const interval = this.opts.tty ? 100 : (this.opts.plainEverySec ?? 10) * 1000;
    if (p.step === 1) this.lastDraw = t; // a fresh epoch: first plain line after a full interval
    if (t - this.lastDraw < interval || p.step === p.steps) return;
    this.lastDraw = t;
    const rate = p.images / Math.max(p.elapsedSec, 1e-9);
    const eta = ((p.steps - p.step) * p.elapsedSec) / p.step;
    const pct = Math.floor((100 * p.step) / p.steps);
    const images = formatInt(Math.round(rate));
    const stats = `${pct}% ${p.step}/${p.steps} ${images} img/s loss ${p.loss().toFixed(4)} ETA ${fmtEta(eta)}`;
    const head = `${label} epoch ${p.epoch}/${epochs}`;
    if (!this.opts.tty) {
      this.out.write(`${head}: ${stats}\n`);
      return;
    }
    const width = Math.max(10, Math.min(30, (this.opts.columns ?? 80) - head.length - stats.length - 4));
    const filled = Math.round((width * p.step) / p.steps);
    this.out.write(`\r\x1b[2K${head} [${'█'.repeat(filled)}${'░'.repeat(width - filled)}] ${stats}`);
    this.drawn = true;
  }

  /** Removes the bar so that other output starts on a clean line. */
  clear(): void {
    if (this.drawn) this.out.write('\r\x1b[2K');
    this.drawn = false;
  }
}
