import { StorageError, type ArtifactStore } from '@mnist/storage';

/**
 * An attempt's own folder (`jobs/<id>/attempts/<n>/`): append-only, and closed once the
 * rank is told to stop. The fence that holds is the folder itself: no other attempt
 * writes there, and this store never deletes, so a stale rank (paused, cut off from NATS)
 * cannot touch what a newer attempt wrote however late its writes land. The signal only
 * spares a stopped rank pointless writes. Reads stay allowed.
 */
export class FencedStore implements ArtifactStore {
  readonly location: string;

  constructor(
    private readonly inner: ArtifactStore,
    private readonly signal: AbortSignal,
  ) {
    this.location = inner.location;
  }

  async put(key: string, body: Uint8Array | string, contentType?: string): Promise<void> {
    this.signal.throwIfAborted();
    await this.inner.put(key, body, contentType);
  }

  get(key: string): Promise<Uint8Array | undefined> {
    return this.inner.get(key);
  }

  list(prefix?: string): Promise<string[]> {
    return this.inner.list(prefix);
  }

  deletePrefix(prefix: string): Promise<void> {
    return Promise.reject(
      new StorageError(`${this.location}${prefix}: an attempt's folder is append-only, nothing is deleted`),
    );
  }

  scope(prefix: string): ArtifactStore {
    return new FencedStore(this.inner.scope(prefix), this.signal);
  }
}
