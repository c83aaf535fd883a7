/** Number formats shared by the table, the prose and the charts, so they agree to the digit. */

export const formatLoss = (loss: number): string => loss.toFixed(4);

/** A fraction 0..1 as a percentage with two decimals: 0.9903 -> '99.03%'. */
export const formatPercent = (fraction: number): string => `${(fraction * 100).toFixed(2)}%`;

/** A difference of fractions in percentage points: 0.014 -> '1.40'. */
export const formatPoints = (fractionDelta: number): string => (fractionDelta * 100).toFixed(2);

export const formatInt = (n: number): string => n.toLocaleString('en-US');

/** Seconds as '42.0 s', '3 min 05 s' or '1 h 02 min'. */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return 'unknown';
  if (seconds < 60) return `${seconds.toFixed(1)} s`;
  const s = Math.round(seconds);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const pad = (n: number) => String(n).padStart(2, '0');
  return h > 0 ? `${h} h ${pad(m)} min` : `${m} min ${pad(s % 60)} s`;
}

/** Markdown table cells must not contain a raw pipe or newline. */
export const escapeCell = (text: string): string => text.replace(/\|/g, '\\|').replace(/\r?\n/g, ' ');
