/**
 * A fresh Idempotency-Key: a UUIDv7 (RFC 9562), time-ordered. The API makes a keyed job's id
 * from its key and takes the time from a v7 key, so jobs submitted with these get ids that
 * sort by submit time (`j-<time>-<hash>`), like unkeyed ones. Web Crypto only: any runtime.
 */
export function newIdempotencyKey(now = Date.now()): string {
  const b = crypto.getRandomValues(new Uint8Array(16));
  for (let i = 0; i < 6; i++) b[i] = Math.floor(now / 2 ** (8 * (5 - i))) % 256;
  b[6] = 0x70 | (b[6]! & 0x0f); // version 7
  b[8] = 0x80 | (b[8]! & 0x3f); // variant 10
  const hex = [...b].map((x) => x.toString(16).padStart(2, '0')).join('');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}
