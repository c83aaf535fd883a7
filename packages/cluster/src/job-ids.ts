import { randomBytes } from 'node:crypto';

/**
 * A new job id: `j-<time base36>-<random>`. Sorts by creation time, is unique without
 * coordination, and fits the protocol's safe alphabet (subjects, KV keys, S3 keys).
 */
export function newJobId(now = Date.now()): string {
  const rand = randomBytes(5).readUIntBE(0, 5).toString(36).padStart(8, '0');
  return `j-${now.toString(36)}-${rand}`;
}
