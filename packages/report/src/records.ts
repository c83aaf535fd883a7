import type { EpochRecord } from '@mnist/protocol';

/**
 * Records in epoch order, one per epoch. A resumed run can log an epoch twice;
 * the later line wins because it is what the checkpoint chain continued from.
 */
export function orderedRecords(records: readonly EpochRecord[]): EpochRecord[] {
  const byEpoch = new Map<number, EpochRecord>();
  for (const r of records) byEpoch.set(r.epoch, r);
  return [...byEpoch.values()].sort((a, b) => a.epoch - b.epoch);
}

/** Epochs absent between 1 and the last recorded one. */
export function missingEpochs(ordered: readonly EpochRecord[]): number[] {
  const present = new Set(ordered.map((r) => r.epoch));
  const last = ordered.at(-1)?.epoch ?? 0;
  const missing: number[] = [];
  for (let e = 1; e <= last; e++) if (!present.has(e)) missing.push(e);
  return missing;
}
