import { HttpError } from '../http-error.js';

/**
 * One path segment of an artifact key: starts with a letter, digit, '_' or '-' (so never
 * '.' or '..'), then those and dots. Nothing else: no '%', '\', NUL, spaces or empty
 * segments, so no decoding trick or absolute path survives.
 */
const SEGMENT = '[A-Za-z0-9_-][A-Za-z0-9._-]{0,127}';
const SAFE_KEY = new RegExp(`^${SEGMENT}(?:/${SEGMENT}){0,15}$`);

/**
 * Checks a key taken from a URL (already percent-decoded once by the router) before it is
 * joined to `jobs/<id>/`. Being strict here keeps every download inside that job's prefix.
 */
export function safeArtifactKey(key: string): string {
  if (!SAFE_KEY.test(key)) {
    throw HttpError.badRequest('invalid artifact key', [
      {
        path: 'key',
        message:
          "must be a relative path of letters, digits, '.', '_' and '-' without '..' " +
          '(e.g. checkpoints/epoch-001/model.json)',
      },
    ]);
  }
  return key;
}

const TYPES: Record<string, string> = {
  json: 'application/json',
  jsonl: 'application/x-ndjson',
  md: 'text/markdown; charset=utf-8',
  png: 'image/png',
  svg: 'image/svg+xml',
  txt: 'text/plain; charset=utf-8',
};

export function contentTypeOf(key: string): string {
  const ext = /\.([a-z0-9]+)$/i.exec(key)?.[1]?.toLowerCase() ?? '';
  return TYPES[ext] ?? 'application/octet-stream';
}
