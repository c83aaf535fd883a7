/** Axis scales with "nice" round ticks (steps of 1, 2 or 5 times a power of ten). */

export interface Scale {
  lo: number;
  hi: number;
  step: number;
  ticks: number[];
}

/** The nice step nearest to `rough`, never below `minStep`. */
export function niceStep(rough: number, minStep = 0): number {
  if (!(rough > 0)) return Math.max(minStep, 1);
  const power = 10 ** Math.floor(Math.log10(rough));
  const fraction = rough / power;
  const nice = fraction < 1.5 ? 1 : fraction < 3.5 ? 2 : fraction < 7.5 ? 5 : 10;
  return Math.max(minStep, nice * power);
}

/** Ticks at multiples of `step` within [lo, hi], free of float noise (0.30000000000000004). */
export function ticksBetween(lo: number, hi: number, step: number): number[] {
  const decimals = decimalsFor(step) + 2;
  const ticks: number[] = [];
  for (let i = Math.ceil(lo / step - 1e-9); i * step <= hi + step * 1e-9; i++)
    ticks.push(+(i * step).toFixed(decimals));
  return ticks;
}

/** Digits after the point that a tick label at this step needs. */
export function decimalsFor(step: number): number {
  return Math.max(0, Math.ceil(-Math.log10(step) - 1e-9));
}

/** A scale whose ends are ticks, covering [min, max] with about `target` intervals. */
export function niceScale(min: number, max: number, target = 5, minStep = 0): Scale {
  if (!Number.isFinite(min) || !Number.isFinite(max)) return niceScale(0, 1, target, minStep);
  if (max < min) [min, max] = [max, min];
  const step = niceStep((max - min) / target, minStep);
  const lo = Math.floor(min / step + 1e-9) * step;
  let hi = Math.ceil(max / step - 1e-9) * step;
  if (hi <= lo) hi = lo + step;
  return { lo, hi, step, ticks: ticksBetween(lo, hi, step) };
}

/** Maps a domain onto a pixel range (either direction). */
export const linear =
  (d0: number, d1: number, r0: number, r1: number) =>
  (v: number): number =>
    d1 === d0 ? (r0 + r1) / 2 : r0 + ((v - d0) / (d1 - d0)) * (r1 - r0);
