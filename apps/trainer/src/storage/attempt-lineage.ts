import { z } from 'zod';
import { attemptPrefix } from '@mnist/protocol';
import { getJson, putJson, StorageError, type ArtifactStore } from '@mnist/storage';
import { listCheckpoints } from '@mnist/checkpoint';

/** A checkpoint a group may continue from: epoch `epoch`, in attempt `attempt`'s folder. */
export interface CheckpointRef {
  attempt: number;
  epoch: number;
}

const LINEAGE_KEY = 'attempt.json';
const RefSchema = z.object({ attempt: z.number().int().min(1), epoch: z.number().int().min(1) });
/** Written by rank 0 into its attempt's folder before any checkpoint: where the attempt started. */
const LineageSchema = z.object({ attempt: z.number().int().min(1), resumeFrom: RefSchema.nullable() });

/** Attempt `attempt`'s folder inside a job's store. */
export const attemptStore = (job: ArtifactStore, attempt: number) => job.scope(attemptPrefix(attempt));

export function writeLineage(
  own: ArtifactStore,
  attempt: number,
  resumeFrom: CheckpointRef | undefined,
): Promise<void> {
  return putJson(own, LINEAGE_KEY, { attempt, resumeFrom: resumeFrom ?? null });
}

async function readLineage(job: ArtifactStore, attempt: number) {
  const raw = await getJson(attemptStore(job, attempt), LINEAGE_KEY);
  if (raw === undefined) return undefined;
  const parsed = LineageSchema.safeParse(raw);
  if (!parsed.success)
    throw new StorageError(`${job.location}${attemptPrefix(attempt)}${LINEAGE_KEY}: not a lineage record`, {
      cause: parsed.error,
    });
  return parsed.data;
}

/**
 * The committed checkpoints of the job, newest first: those of attempt `head`'s line (its
 * own folder, then the attempt it resumed from, up to the epoch it resumed at, and so on)
 * up to epoch `upTo`, the last epoch the record confirmed (rank 0 saves an epoch before
 * it compare-and-sets the record's `epoch`). Anything a stale attempt wrote after it was
 * superseded lies past a cap and is never read. An attempt without a lineage record wrote
 * nothing (rank 0 writes it first), so the walk passes to the attempt before it.
 */
export async function committedCheckpoints(job: ArtifactStore, head: number, upTo: number): Promise<CheckpointRef[]> {
  const refs: CheckpointRef[] = [];
  let cap = upTo;
  for (let attempt = head; attempt >= 1 && cap >= 1;) {
    const lineage = await readLineage(job, attempt);
    if (!lineage) {
      attempt--;
      continue;
    }
    const from = lineage.resumeFrom?.epoch ?? 0;
    const epochs = (await listCheckpoints(attemptStore(job, attempt))).filter((e) => e > from && e <= cap);
    refs.push(...epochs.reverse().map((epoch) => ({ attempt, epoch })));
    if (!lineage.resumeFrom) break;
    cap = Math.min(cap, from);
    attempt = lineage.resumeFrom.attempt;
  }
  return refs;
}

/** The newest committed checkpoint (see committedCheckpoints), or undefined: start fresh. */
export async function resumePoint(job: ArtifactStore, head: number, upTo: number): Promise<CheckpointRef | undefined> {
  return (await committedCheckpoints(job, head, upTo))[0];
}
