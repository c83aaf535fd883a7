import { randomBytes } from 'node:crypto';
import { ownedByGroup, resize } from '@mnist/protocol';
import type { Logger } from '@mnist/core';
import type { TrainerContext } from '../context.js';
import type { DataPlane } from '../collective/data-plane.js';
import { CollectivePeerLostError, CollectiveTimeoutError } from '../collective/errors.js';
import type { DataEndpoint } from '../collective/tcp/data-listener.js';
import { askStatus, confirm, release, runsAttempt, sendRegroup, type Recruitment } from '../group/recruiter.js';
import type { Assignment } from '../group/messages.js';
import { writeRecord } from './settle.js';

/**
 * Rank 0's side of an elastic group change (see elastic-group.ts): who is still there, and
 * committing a new membership (the record first, then every member's new place).
 */

/** Opens a rank's data plane for an assignment (rank.ts: subscribed before it returns; connect() forms the mesh). */
export type OpenDataPlane = (a: Assignment) => Promise<DataPlane | undefined>;

/** A group of the attempt: its assignment (this rank's place) and its data plane (none for a group of one). */
export interface Group {
  a: Assignment;
  dp: DataPlane | undefined;
}

/** A change rank 0 tried: the new group, or who refused their place (nobody: the record changed meanwhile). */
export type Committed = { ok: true; group: Group } | { ok: false; refused: string[] };

/** The members other than this rank and the `gone` ranks that still run this attempt (in rank order). */
export async function answeringMembers(
  ctx: TrainerContext,
  a: Assignment,
  gone: ReadonlySet<number>,
): Promise<string[]> {
  const others = a.members.filter((_, r) => r !== a.rank && !gone.has(r));
  const statuses = await Promise.all(others.map((id) => askStatus(ctx, id)));
  return others.filter((_, i) => runsAttempt(statuses[i], a.jobId, a.attempt));
}

/** The ranks a round's error names as lost or silent (none when a peer only passed on an abort). */
export function lostRanks(err: unknown): number[] {
  if (err instanceof CollectivePeerLostError) return [err.peerRank];
  if (err instanceof CollectiveTimeoutError) return err.missingRanks;
  return [];
}

export interface GroupChange {
  ctx: TrainerContext;
  open: OpenDataPlane;
  log: Logger;
  /** Rank 0's assignment in the group being changed, and the group the record names now. */
  current: Assignment;
  recordGroup: number;
  /** The new members in rank order (rank 0 first), and where each takes direct connections. */
  members: string[];
  endpoints: Map<string, DataEndpoint | undefined>;
  /** Newcomers' reservations (a grow): they get a confirm, joining at `joinAtEpoch`. */
  recruits?: Recruitment | undefined;
  joinAtEpoch?: number | undefined;
}

/**
 * The resize in the record (only if nobody changed the group meanwhile), then every member's
 * new place: the old members by a regroup message, newcomers by the confirm of their
 * reservation. Rank 0's own data plane listens before anyone is told.
 */
export async function commitGroup(c: GroupChange): Promise<{ recordGroup: number; committed: Committed }> {
  const { ctx, current: a, members, recruits } = c;
  const t = resize({ trainers: members }, ownedByGroup(a.attempt, c.recordGroup));
  const written = await writeRecord(ctx, a.jobId, t, c.log);
  if (!written.changed) {
    recruits?.peers.forEach((o) => release(ctx, o.trainerId, recruits.token));
    return { recordGroup: c.recordGroup, committed: { ok: false, refused: [] } };
  }
  const recordGroup = written.record.group;
  const assignment = newAssignments(a, members, c.endpoints, recordGroup);
  const own: Group = { a: assignment(0), dp: await c.open(assignment(0)) };
  const refusals = await Promise.all(
    members
      .slice(1)
      .map((id, i) =>
        recruits?.peers.some((o) => o.trainerId === id)
          ? confirm(ctx, id, recruits.token, { ...assignment(i + 1), joinAtEpoch: c.joinAtEpoch })
          : sendRegroup(ctx, id, assignment(i + 1)),
      ),
  );
  const refused = members.slice(1).filter((_, i) => refusals[i] !== undefined);
  if (refused.length === 0) return { recordGroup, committed: { ok: true, group: own } };
  own.dp?.close();
  c.log.warn('elastic.member_refused', { members: refused, reasons: refusals.filter((r) => r !== undefined) });
  return { recordGroup, committed: { ok: false, refused } };
}

/** Each member's place in group `group`: endpoints and a fresh secret when every member has an endpoint. */
function newAssignments(
  a: Assignment,
  members: string[],
  endpoints: Map<string, DataEndpoint | undefined>,
  group: number,
): (rank: number) => Assignment {
  const eps = members.map((id) => endpoints.get(id));
  const direct = members.length > 1 && eps.every((e) => e !== undefined);
  const secret = randomBytes(16).toString('hex');
  return (rank) => ({
    ...a,
    endpoints: direct ? (eps as DataEndpoint[]) : undefined,
    secret: direct ? secret : undefined,
    rank,
    worldSize: members.length,
    members,
    group,
    joinAtEpoch: undefined,
  });
}
