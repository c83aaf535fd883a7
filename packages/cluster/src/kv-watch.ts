import type { KvWatchEntry } from '@nats-io/kv';
import type { QueuedIterator } from '@nats-io/nats-core';

/**
 * Ends a KV watch and deletes its consumer on the server. `stop()` alone only unsubscribes:
 * the watch's ordered push consumer stays on the server for its 5-minute inactivity
 * threshold, so one watch per job run piled up thousands on a busy fleet. The kv client
 * keeps that consumer in the iterator's `_data` (an ordered one renames itself after a
 * reconnect, and its `delete()` names the current one).
 */
export async function endKvWatch(it: QueuedIterator<KvWatchEntry>): Promise<void> {
  it.stop();
  const consumer = (it as { _data?: unknown })._data as { delete?: () => Promise<unknown> } | undefined;
  // Gone already (the broker restarted, or it expired): nothing left to release.
  await consumer?.delete?.().catch(() => undefined);
}
