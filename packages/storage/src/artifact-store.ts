import { StorageError } from '@mnist/core';
/**
 * Where a run keeps its artifacts: a folder locally, an S3 prefix in the cluster.
 * Keys are relative, '/'-separated (see `artifactKeys` in @mnist/protocol); a key
 * ending in '/' names a folder. Every put replaces the whole object atomically:
 * a reader sees the old bytes or the new ones, never a mix.
 */
export interface ArtifactStore {
  /** Human-readable location, e.g. `/home/me/runs/abc/` or `s3://bucket/jobs/abc/`. */
  readonly location: string;
  put(key: string, body: Uint8Array | string, contentType?: string): Promise<void>;
  /** The object's bytes, or undefined when there is no such key. */
  get(key: string): Promise<Uint8Array | undefined>;
  /** Keys under a prefix (recursively), relative to this store, sorted. */
  list(prefix?: string): Promise<string[]>;
  /** Removes every key under a prefix; a missing prefix is not an error. */
  deletePrefix(prefix: string): Promise<void>;
  /** A store whose keys are relative to `prefix` inside this one. */
  scope(prefix: string): ArtifactStore;
}

// Defined in @mnist/core so the API can map it with instanceof without importing the stores.
export { StorageError };

const decoder = new TextDecoder();

export async function getText(store: ArtifactStore, key: string): Promise<string | undefined> {
  const bytes = await store.get(key);
  return bytes === undefined ? undefined : decoder.decode(bytes);
}

export async function getJson<T = unknown>(store: ArtifactStore, key: string): Promise<T | undefined> {
  const text = await getText(store, key);
  if (text === undefined) return undefined;
  try {
    return JSON.parse(text) as T;
  } catch (err) {
    throw new StorageError(`${store.location}${key}: not valid JSON`, { cause: err });
  }
}

export function putJson(store: ArtifactStore, key: string, value: unknown): Promise<void> {
  return store.put(key, JSON.stringify(value, null, 2) + '\n', 'application/json');
}

/** Rejects keys that could leave the store's root (`..`, absolute paths, empty segments). */
export function assertSafeKey(key: string): void {
  const parts = key.split('/');
  const bad =
    key.startsWith('/') ||
    key.includes('\\') ||
    parts.some((p, i) => p === '..' || p === '.' || (p === '' && i < parts.length - 1));
  if (bad || key.includes('\0')) throw new StorageError(`unsafe artifact key '${key}'`);
}

export function joinPrefix(prefix: string, key: string): string {
  if (prefix === '') return key;
  return prefix.endsWith('/') ? prefix + key : `${prefix}/${key}`;
}
