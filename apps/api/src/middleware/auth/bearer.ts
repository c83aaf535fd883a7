/**
 * The one reading of `Authorization: Bearer <token>` that both shells use (Node trims a
 * header's trailing whitespace before the app sees it, workerd does not, and they used to
 * answer 200 and 400 to the same header). The rule: optional whitespace (space, tab) around
 * the field value is not part of it (RFC 9110 5.5), so it is trimmed; then RFC 6750's
 * `"Bearer" 1*SP b64token`, the scheme case-insensitive (RFC 7235 2.1). Anything else in
 * the value, a tab between scheme and token included, is malformed.
 */
export type BearerHeader = { kind: 'missing' } | { kind: 'malformed' } | { kind: 'token'; token: string };

const CREDENTIALS = /^bearer +([A-Za-z0-9._~+/-]+=*)$/i;

export function parseBearer(header: string | null | undefined): BearerHeader {
  const value = (header ?? '').replace(/^[ \t]+|[ \t]+$/g, '');
  if (value === '') return { kind: 'missing' };
  const m = CREDENTIALS.exec(value);
  return m ? { kind: 'token', token: m[1]! } : { kind: 'malformed' };
}
