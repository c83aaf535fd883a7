/**
 * Seeded shuffling that gives the same order on every run, platform and runtime: only
 * 32-bit integer arithmetic (Math.imul) and double operations that JS defines exactly
 * (IEEE-754, round to nearest); no Math.random.
 */

/** murmur3's 32-bit finaliser: spreads nearby seeds (1, 2, 3...) over the whole state space. */
function mix32(x: number): number {
  x = Math.imul(x ^ (x >>> 16), 0x85ebca6b);
  x = Math.imul(x ^ (x >>> 13), 0xc2b2ae35);
  return (x ^ (x >>> 16)) >>> 0;
}

/** mulberry32: a small, fast, well-tested 32-bit generator; returns floats in [0, 1). */
function mulberry32(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = Math.imul(state ^ (state >>> 15), state | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const MAX_UINT32 = 0xffffffff;

/** The generator works on 32 bits; larger values would silently alias smaller ones. */
function checkUint32(value: number, what: string): void {
  if (!Number.isInteger(value) || value < 0 || value > MAX_UINT32) {
    throw new RangeError(`${what} must be an integer in 0..${MAX_UINT32}, got ${value}`);
  }
}

/**
 * The order of examples for one epoch: a permutation of 0..n-1 that depends only on
 * (n, seed, epoch). Every epoch gets its own order; the same triple always gives the same one.
 */
export function epochPermutation(n: number, seed: number, epoch: number): Uint32Array {
  checkUint32(n, 'n');
  checkUint32(seed, 'seed');
  checkUint32(epoch, 'epoch');
  // Seed and epoch are mixed separately so (seed, epoch) pairs do not collide by simple sums.
  const random = mulberry32(mix32(mix32(seed) ^ mix32(epoch + 0x9e3779b9)));
  const perm = new Uint32Array(n);
  for (let i = 0; i < n; i++) perm[i] = i;
  // Fisher–Yates, from the end.
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    const tmp = perm[i]!;
    perm[i] = perm[j]!;
    perm[j] = tmp;
  }
  return perm;
}
