import { createHash, randomBytes } from 'node:crypto';

/**
 * A new job id: `j-<time base36>-<random>`. Sorts by creation time, is unique without
 * coordination, and fits the protocol's safe alphabet (subjects, KV keys, S3 keys).
 */
export function newJobId(now = Date.now()): string {
  const rand = randomBytes(5).readUIntBE(0, 5).toString(36).padStart(8, '0');
  return `j-${now.toString(36)}-${rand}`;
}

/**
 * The job id an Idempotency-Key stands for: a hash, so the same key always names the same
 * record (a retry finds the first try's job with one KV create), and the key itself never
 * shows up in subjects, S3 keys or logs.
 */
export function jobIdForKey(key: string): string {
  return `k-${createHash('sha256').update(key).digest('base64url').slice(0, 32)}`;
}

