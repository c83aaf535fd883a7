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

/** Ids made by jobIdForKey start with this; newJobId's with `j-`. */
const KEYED_PREFIX = 'k-';

/** Whether the job was submitted with an Idempotency-Key (its client can retry it safely). */
export const isKeyedJobId = (id: string) => id.startsWith(KEYED_PREFIX);

function base64url(bytes: Uint8Array): string {
  return btoa(String.fromCharCode(...bytes)).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

/**
 * The job id an Idempotency-Key stands for: a hash, so the same key always names the same
 * record (a retry finds the first try's job with one KV create), and the key itself never
 * shows up in subjects, S3 keys or logs.
 */
export async function jobIdForKey(key: string): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(key)));
  return `${KEYED_PREFIX}${base64url(digest).slice(0, 32)}`;
}
