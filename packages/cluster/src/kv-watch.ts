import type { KV, KvWatchEntry } from '@nats-io/kv';
import type { QueuedIterator } from '@nats-io/nats-core';

/**
 * Ends a KV watch and deletes its consumer on the server. `stop()` alone only unsubscribes:
 * the watch's ordered push consumer stays on the server for its 5-minute inactivity
 * threshold, so one watch per job run piled up thousands on a busy fleet. The kv client
 * keeps that consumer in the iterator's `_data` (an ordered one renames itself after a
 * reconnect, and its `delete()` names the current one).
 */
export async function endKvWatch(it: QueuedIterator<KvWatchEntry> | QueuedIterator<string>): Promise<void> {
  it.stop();
  const consumer = (it as { _data?: unknown })._data as { delete?: () => Promise<unknown> } | undefined;
  // Gone already (the broker restarted, or it expired): nothing left to release.
  await consumer?.delete?.().catch(() => undefined);
}

/**
 * The bucket's keys, each once, through `kv.keys()` with its consumer deleted afterwards
 * (the same 5-minute leftover as a watch's: one per job run where a coordinator lists the
 * trainers). On an empty bucket the kv client stops before it hands the consumer over,
 * so an empty bucket (a stream info, no consumer) is answered first; one emptied between
 * the two leaves a consumer that expires on its own.
 */
export async function listKvKeys(kv: KV): Promise<string[]> {
  if ((await kv.status()).values === 0) return [];
  const it = await kv.keys();
  const keys = new Set<string>();
  try {
    for await (const k of it) keys.add(k);
  } finally {
    await endKvWatch(it);
  }
  return [...keys];
}
