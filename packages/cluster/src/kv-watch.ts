import { Bucket, type KV, type KvWatchEntry } from '@nats-io/kv';
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
 * The bucket's keys, from one stream-info request that names the subjects holding messages.
 * Not `kv.keys()`: its push consumer could sit undelivered for minutes when nats-server
 * missed the interest of the subscription made just after it (a coordinator's fleet read
 * at an epoch end stalled a job for 6 min in test:containers), and every call had a
 * consumer to delete afterwards. Keys whose last message is a delete marker are listed too:
 * every caller reads each entry and drops those.
 */
export async function listKvKeys(kv: KV): Promise<string[]> {
  if (!(kv instanceof Bucket)) throw new TypeError('listKvKeys needs a bucket opened through Kvm');
  const info = await kv.jsm.streams.info(kv.stream, { subjects_filter: kv.fullKeyName('>') });
  return Object.keys(info.state.subjects ?? {}).map((subject) => kv.decodeKey(subject.substring(kv.prefixLen)));
}
