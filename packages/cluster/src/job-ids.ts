/**
 * Job ids, from Web Crypto (`globalThis.crypto`): the same code runs in Node and on Workers.
 */

/**
 * A new job id: `j-<time base36>-<random>`. Sorts by creation time, is unique without
 * coordination, and fits the protocol's safe alphabet (subjects, KV keys, S3 keys).
 */
export function newJobId(now = Date.now()): string {
  // 40 random bits as one number (exact: below 2^53).
  const n = crypto.getRandomValues(new Uint8Array(5)).reduce((acc, b) => acc * 256 + b, 0);
  return `j-${now.toString(36)}-${n.toString(36).padStart(8, '0')}`;
}

/** A UUIDv7 (RFC 9562): its first 48 bits are the Unix time in ms. */
const UUID_V7 = /^([0-9a-f]{8})-([0-9a-f]{4})-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/i;

/** Keyed ids end in 10 hash characters, unkeyed ones in 8 random ones; `k-` ids are keyed ones of earlier versions. */
const KEYED_ID = /^(?:j-[0-9a-z]+-[0-9a-z]{10}|k-[A-Za-z0-9_-]{32})$/;

/** Whether a job id was made from an Idempotency-Key (a retry of its submit finds it again). */
export const isKeyedJobId = (id: string) => KEYED_ID.test(id);

/**
 * The job id an Idempotency-Key stands for, in the same `j-<time>-<...>` form as every id: a
 * hash, so the same key always names the same record (a retry finds the first try's job
 * with one KV create), and the key itself never shows up in subjects, S3 keys or logs. The
 * time is the key's own when it is a UUIDv7 (the CLI sends those), so ids sort by submit
 * time; any other key has no time to give, and its id starts `j-0-`.
 */
export async function jobIdForKey(key: string): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(key)));
  // 50 bits of the hash as one number (exact: below 2^53), 10 base-36 characters.
  const n = digest.slice(0, 7).reduce((acc, b) => acc * 256 + b, 0) % 2 ** 50;
  const v7 = UUID_V7.exec(key);
  const ms = v7 ? parseInt(v7[1]! + v7[2]!, 16) : 0;
  return `j-${ms.toString(36)}-${n.toString(36).padStart(10, '0')}`;
}
