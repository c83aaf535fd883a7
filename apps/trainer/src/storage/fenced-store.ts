import type { ArtifactStore } from '@mnist/storage';

/**
 * Refuses writes once `signal` has aborted: a rank whose attempt was cancelled or taken
 * over by a newer group must not overwrite that group's metrics or checkpoints. Reads
 * stay allowed. The signal is the rank's own, driven by the job record's watch.
 */
export class FencedStore implements ArtifactStore {
  readonly location: string;

  constructor(
    private readonly inner: ArtifactStore,
    private readonly signal: AbortSignal,
  ) {
    this.location = inner.location;
  }

  private check(): void {
    if (this.signal.aborted) throw this.signal.reason instanceof Error ? this.signal.reason : new Error(String(this.signal.reason));
  }

  async put(key: string, body: Uint8Array | string, contentType?: string): Promise<void> {
    this.check();
    await this.inner.put(key, body, contentType);
  }

  get(key: string): Promise<Uint8Array | undefined> {
    return this.inner.get(key);
  }

  list(prefix?: string): Promise<string[]> {
    return this.inner.list(prefix);
  }

  async deletePrefix(prefix: string): Promise<void> {
    this.check();
    await this.inner.deletePrefix(prefix);
  }

  scope(prefix: string): ArtifactStore {
    return new FencedStore(this.inner.scope(prefix), this.signal);
  }
}
