import { HttpError } from '../http-error.js';

/** 1-255 printable ASCII characters, no leading or trailing space (a UUID is typical). */
const IDEMPOTENCY_KEY = /^[\x21-\x7e](?:[\x20-\x7e]{0,253}[\x21-\x7e])?$/;

/** The Idempotency-Key header of a submit (jobs, sweeps), or 400 when it is malformed. */
export function idempotencyKey(header: string | undefined): string | undefined {
  if (header === undefined) return undefined;
  if (!IDEMPOTENCY_KEY.test(header)) {
    throw HttpError.badRequest('invalid Idempotency-Key', [
      { path: 'Idempotency-Key', message: 'must be 1-255 printable ASCII characters (a UUID, say)' },
    ]);
  }
  return header;
}
