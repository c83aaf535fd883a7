import type { KV } from '@nats-io/kv';
import { TrainerInfoSchema, type TrainerInfo } from '@mnist/protocol';
import { listKvKeys } from './kv-watch.js';

const encoder = new TextEncoder();

/**
 * Live trainers: each puts its TrainerInfo under its id every few seconds; the bucket's
 * max age drops the entries of trainers that stopped (killed, partitioned), so listing
 * needs no clean-up protocol.
 */
export class TrainerRegistry {
  constructor(
    private readonly kv: KV,
    /** Entries older than this are treated as gone even before the server expires them. */
    private readonly ttlMs: number,
  ) {}

  async heartbeat(info: TrainerInfo): Promise<void> {
    const checked = TrainerInfoSchema.parse(info);
    await this.kv.put(checked.id, encoder.encode(JSON.stringify(checked)));
  }

  /** A clean exit: leave the list at once instead of after the TTL. */
  async remove(id: string): Promise<void> {
    await this.kv.delete(id);
  }

  async get(id: string, now = Date.now()): Promise<TrainerInfo | undefined> {
    const e = await this.kv.get(id);
    if (!e || e.operation !== 'PUT') return undefined;
    const parsed = TrainerInfoSchema.safeParse(e.json());
    // A malformed entry (another version?) is not a live trainer we can talk to.
    if (!parsed.success) return undefined;
    return now - Date.parse(parsed.data.lastSeen) <= this.ttlMs ? parsed.data : undefined;
  }

  /** Trainers whose last heartbeat is within the TTL, sorted by id. */
  async list(now = Date.now()): Promise<TrainerInfo[]> {
    const ids = await listKvKeys(this.kv);
    const infos = await Promise.all(ids.map((id) => this.get(id, now)));
    return infos.filter((i): i is TrainerInfo => i !== undefined).sort((a, b) => a.id.localeCompare(b.id));
  }
}
