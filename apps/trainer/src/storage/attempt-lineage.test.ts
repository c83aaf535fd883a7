import { describe, expect, it } from 'vitest';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { artifactKeys } from '@mnist/protocol';
import { FsStore, type ArtifactStore } from '@mnist/storage';
import {
  attemptStore,
  committedCheckpoints,
  resumePoint,
  writeLineage,
  type CheckpointRef,
} from './attempt-lineage.js';

/** Only the manifest matters to the walk: it marks a checkpoint complete. */
const checkpoint = (job: ArtifactStore, attempt: number, epoch: number) =>
  attemptStore(job, attempt).put(`${artifactKeys.checkpoint(epoch)}checkpoint.json`, '{}');

describe('attempt lineage', () => {
  it("walks the record's attempt line, capped where each attempt resumed and at the confirmed epoch", async () => {
    const job = new FsStore(mkdtempSync(join(tmpdir(), 'lineage-')));
    // attempt 1: epochs 1-3, then stalled; its stale self later wrote epochs 4 and 5.
    await writeLineage(attemptStore(job, 1), 1, undefined);
    for (const e of [1, 2, 3, 4, 5]) await checkpoint(job, 1, e);
    // attempt 2 resumed from 1@2 (epoch 3 was not confirmed yet), reached 4, then lost a peer.
    await writeLineage(attemptStore(job, 2), 2, { attempt: 1, epoch: 2 });
    for (const e of [3, 4]) await checkpoint(job, 2, e);
    // attempt 3 was claimed but its rank 0 never wrote anything.
    const line = (refs: CheckpointRef[]) => refs.map((r) => `${r.attempt}@${r.epoch}`);
    expect(line(await committedCheckpoints(job, 3, 4))).toEqual(['2@4', '2@3', '1@2', '1@1']);
    // The record confirmed only epoch 3 of attempt 2: its epoch-4 checkpoint is not the job's.
    expect(await resumePoint(job, 2, 3)).toEqual({ attempt: 2, epoch: 3 });
    expect(await resumePoint(job, 1, 5)).toEqual({ attempt: 1, epoch: 5 });
    expect(await resumePoint(job, 3, 0)).toBeUndefined();
  });
});
