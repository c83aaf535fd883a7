import { mayGrow, ranksToGiveBack, type JobEvent } from '@mnist/protocol';
import { sleep, type Logger } from '@mnist/core';
import { LocalCollective, type Collective, type Elastic } from '@mnist/training';
import type { TrainerContext } from '../context.js';
import type { DataPlane } from '../collective/data-plane.js';
import { CollectiveError } from '../collective/errors.js';
import type { DataEndpoint } from '../collective/tcp/data-listener.js';
import { askStatus, recruit, runsAttempt, type Recruitment } from '../group/recruiter.js';
import type { Assignment } from '../group/messages.js';
import {
  answeringMembers,
  commitGroup,
  lostRanks,
  type Committed,
  type Group,
  type OpenDataPlane,
} from './elastic-commit.js';
import { describeError, isFatal } from './outcome.js';

/** Rank 0 could not form the next group (the record changed, a member refused): like a lost round. */
export class GroupNotFormedError extends Error {
  override readonly name = 'GroupNotFormedError';
}

/** The collective the loop goes on with: the data plane, or a group of one. */
const collectiveOf = (g: Group): Collective => g.dp ?? new LocalCollective();

/**
 * One rank of an elastic job (a replica range): it re-forms its group in the same attempt.
 * Rank 0 (the coordinator, which holds the task) decides: after a failed round it asks the
 * other members whether they are still there and goes on with those that answer (down to
 * the range's minimum); at an epoch's end it takes free trainers (up to the maximum). It
 * writes the `resize` transition first, then tells every member its new place (`regroup`
 * messages, `confirm` for newcomers). The other ranks wait for that message after a failed
 * round, unless every lower rank is gone: then the lowest rank left takes over as rank 0
 * (the members share the task's lease). Anything else (too few left, a member that does not
 * answer, the record changed) gives up, and the job takes today's path: a new attempt from
 * the last checkpoint.
 */
export class ElasticGroup implements Elastic {
  readonly joinAtEpoch: number | undefined;
  private group: Group;
  /** The record's group: one more than ours after a resize was written but its group did not form. */
  private recordGroup: number;
  private next: Group | undefined;
  /** Ends awaitRegroup's wait when a regroup message arrives. */
  private wake: () => void = () => undefined;
  /** What the last change was, for the resize event once the new group agreed on its state. */
  private change: { from: number; why: string; startedAt: number } | undefined;

  constructor(
    private readonly ctx: TrainerContext,
    a: Assignment,
    dp: DataPlane | undefined,
    private readonly open: OpenDataPlane,
    private readonly stopped: AbortSignal,
    private log: Logger,
  ) {
    this.group = { a, dp };
    this.recordGroup = a.group;
    this.joinAtEpoch = a.joinAtEpoch;
  }

  get dataPlane(): DataPlane | undefined {
    return this.group.dp;
  }

  async afterFailure(err: unknown): Promise<Collective | undefined> {
    // Only a lost or silent member is survived here; a state mismatch, S3 or a bug take today's path.
    const groupFault = err instanceof CollectiveError || err instanceof GroupNotFormedError;
    // Local SGD's ranks differ between exchanges: it changes size only at epoch ends (exchanges).
    const stepSync = this.group.a.spec.sync === 'step';
    if (!groupFault || !stepSync || isFatal(err) || this.stopped.aborted) return undefined;
    const { a } = this.group;
    this.log.warn('elastic.round_failed', { error: describeError(err), group: a.group });
    const startedAt = performance.now();
    const gone = new Set(lostRanks(err));
    let why = `lost a rank: ${describeError(err)}`;
    let next: Group | undefined;
    if (a.rank === 0) next = await this.reform(gone);
    else if (!this.next && a.task && (await this.leadersLost(gone))) {
      // Every lower rank is gone: this one leads now, and holds the task through the shared lease.
      this.log.warn('elastic.taking_over', { from: a.members[0], group: a.group });
      why = `took over from ${a.members[0]}: ${describeError(err)}`;
      next = await this.reform(gone);
    } else next = await this.awaitRegroup();
    if (!next) return undefined;
    this.change ??= { from: a.worldSize, why, startedAt };
    return this.switchTo(next);
  }

  /** Whether this rank leads its group now (rank 0: it started as the coordinator, or took over). */
  get leads(): boolean {
    return this.group.a.rank === 0;
  }

  /** Not rank 0: whether no lower rank still runs the attempt (each that does not answer joins `gone`). */
  private async leadersLost(gone: Set<number>): Promise<boolean> {
    const { a } = this.group;
    const lower = a.members.slice(0, a.rank).filter((_, r) => !gone.has(r));
    const statuses = await Promise.all(lower.map((id) => askStatus(this.ctx, id)));
    const running = statuses.some((s) => runsAttempt(s, a.jobId, a.attempt));
    if (!running) for (let r = 0; r < a.rank; r++) gone.add(r);
    return !running;
  }

  /** Rank 0 at an epoch's end: give ranks back to a queued job, or take free trainers (see @mnist/protocol's rules). */
  async atEpochEnd(epoch: number): Promise<Collective | undefined> {
    const { a } = this.group;
    if (a.rank !== 0 || this.stopped.aborted) return undefined;
    const startedAt = performance.now();
    const fleet = await this.readFleet();
    if (!fleet) return undefined;
    const back = ranksToGiveBack({ ...fleet.self, trainers: a.members }, fleet.jobs, fleet.trainers);
    if (back > 0) return this.giveBack(back, startedAt);
    const idle = fleet.trainers.some((t) => t.state === 'idle' && t.id !== this.ctx.id);
    if (a.worldSize >= a.spec.replicas || !idle || !mayGrow(fleet.jobs)) return undefined;
    const recruits = await this.recruitFree(a.spec.replicas - a.worldSize);
    if (!recruits) return undefined;
    const names = recruits.peers.map((o) => o.trainerId);
    const next = await this.grow(recruits, epoch + 1);
    // A group that did not form fails like a lost round: the loop asks afterFailure who is left.
    if (!next) throw new GroupNotFormedError(`the group did not grow onto ${names.join(', ')}`);
    this.change = { from: a.worldSize, why: `grew onto ${names.join(', ')}`, startedAt };
    return this.switchTo(next);
  }

  /** The jobs and the trainers for the sharing rules; undefined (no change now) when the broker does not answer. */
  private async readFleet() {
    const { jobs, trainers } = this.ctx.cluster;
    try {
      const [all, live] = await Promise.all([jobs.list(), trainers.list()]);
      const self = all.find((j) => j.id === this.group.a.jobId);
      return self && { self, jobs: all, trainers: live };
    } catch (err) {
      this.log.debug('elastic.fleet_unread', { error: err });
      return undefined;
    }
  }

  /** Sharing: the highest ranks leave so that a queued job can start; they go idle once the record drops them. */
  private async giveBack(count: number, startedAt: number): Promise<Collective | undefined> {
    const { a } = this.group;
    const members = a.members.slice(0, a.worldSize - count);
    const r = await this.commit(members, this.endpointsByMember(), undefined, undefined);
    if (!r.ok) throw new GroupNotFormedError(`the group did not give back ${count} rank(s)`);
    const next = r.group;
    this.change = {
      from: a.worldSize,
      why: `gave ${a.members.slice(members.length).join(', ')} back to the queue`,
      startedAt,
    };
    return this.switchTo(next);
  }

  /** The new group agreed on its state: say so (rank 0: the job's event and the cost of the change). */
  adopted(at: { epoch: number; step: number; globalStep: number }): void {
    const change = this.change;
    this.change = undefined;
    const { a } = this.group;
    const ms = change ? Math.round(performance.now() - change.startedAt) : undefined;
    this.log.info('elastic.regrouped', { group: a.group, worldSize: a.worldSize, ...at, ms });
    if (a.rank !== 0 || !change) return;
    const event: JobEvent = {
      type: 'resize',
      jobId: a.jobId,
      attempt: a.attempt,
      group: a.group,
      from: change.from,
      to: a.worldSize,
      members: a.members,
      epoch: at.epoch,
      step: at.globalStep,
      why: change.why,
      at: new Date().toISOString(),
    };
    this.ctx.cluster.events.publish(event).catch((e: unknown) => this.log.debug('resize_event.failed', { error: e }));
  }

  /** A `regroup` message for this rank: listen in the new group, then let the failed round (or the next) find it. */
  async receive(a: Assignment): Promise<string | undefined> {
    const cur = this.group.a;
    if (this.stopped.aborted) return `rank is stopping: ${describeError(this.stopped.reason)}`;
    if (a.jobId !== cur.jobId || a.attempt !== cur.attempt || a.group <= cur.group)
      return `rank is in group ${cur.group} of attempt ${cur.attempt}`;
    try {
      this.next?.dp?.close();
      this.next = { a, dp: await this.open(a) };
    } catch (err) {
      return describeError(err);
    }
    // Our current round may still be waiting on the old group: end it, the loop then takes the new one.
    this.group.dp?.abort(`regrouped into group ${a.group}`, false);
    this.wake();
    return undefined;
  }

  close(): void {
    this.group.dp?.close();
    this.next?.dp?.close();
  }

  /** Closes the old group's data plane, connects the new one's. */
  private async switchTo(next: Group): Promise<Collective> {
    if (next.dp !== this.group.dp) this.group.dp?.close();
    this.group = next;
    this.log = this.log.child({ rank: next.a.rank, group: next.a.group });
    this.ctx.state.setRank(next.a.rank);
    if (next.dp) await next.dp.connect();
    return collectiveOf(next);
  }

  /** Not rank 0: rank 0's regroup message, if it comes in time (a stop ends the wait too). */
  private async awaitRegroup(): Promise<Group | undefined> {
    const waitMs = this.ctx.config.collectiveTimeoutMs + 10_000;
    if (!this.next && !this.stopped.aborted) {
      const woken = new AbortController();
      const stop = () => woken.abort();
      this.wake = stop;
      this.stopped.addEventListener('abort', stop, { once: true });
      await sleep(waitMs, woken.signal);
      this.stopped.removeEventListener('abort', stop);
    }
    const next = this.next;
    this.next = undefined;
    if (!next) this.log.warn('elastic.no_regroup', { waitedMs: waitMs });
    return next;
  }

  /** The leader after a failed round: the members that still answer, if they are enough; this rank first. */
  private async reform(gone: ReadonlySet<number>): Promise<Group | undefined> {
    const { a } = this.group;
    const alive = await answeringMembers(this.ctx, a, gone);
    const min = a.spec.minReplicas ?? a.spec.replicas;
    let members = [a.members[a.rank]!, ...alive];
    // A member that answered but then refuses its place (draining, stopped meanwhile) is left out too.
    for (;;) {
      if (members.length < min) {
        this.log.warn('elastic.too_few', { alive: members.length, min });
        return undefined;
      }
      const r = await this.commit(members, this.endpointsByMember(), undefined, undefined);
      if (r.ok || r.refused.length === 0) return r.ok ? r.group : undefined;
      members = members.filter((m) => !r.refused.includes(m));
    }
  }

  /** Rank 0: reservations of idle trainers, up to `want`. */
  private async recruitFree(want: number): Promise<Recruitment | undefined> {
    const { token, peers } = await recruit(this.ctx, this.group.a.jobId, want);
    return peers.length > 0 ? { token, peers: peers.slice(0, want) } : undefined;
  }

  private async grow(recruits: Recruitment, joinAtEpoch: number): Promise<Group | undefined> {
    const endpoints = this.endpointsByMember();
    for (const o of recruits.peers) endpoints.set(o.trainerId, o.data);
    const members = [...this.group.a.members, ...recruits.peers.map((o) => o.trainerId)];
    const r = await this.commit(members, endpoints, recruits, joinAtEpoch);
    return r.ok ? r.group : undefined;
  }

  /** Each member's data endpoint; this rank's own from its listener (a group of one carries none). */
  private endpointsByMember(): Map<string, DataEndpoint | undefined> {
    const { a } = this.group;
    const byMember = new Map(a.members.map((id, r) => [id, a.endpoints?.[r]]));
    byMember.set(this.ctx.id, this.ctx.dataListener.endpoint);
    return byMember;
  }

  /** Rank 0: `commitGroup` from where this rank stands; the record's group moves on even when the change fails. */
  private async commit(
    members: string[],
    endpoints: Map<string, DataEndpoint | undefined>,
    recruits: Recruitment | undefined,
    joinAtEpoch: number | undefined,
  ): Promise<Committed> {
    const { ctx, open, log, recordGroup } = this;
    const change = { members, endpoints, recruits, joinAtEpoch };
    const r = await commitGroup({ ctx, open, log, current: this.group.a, recordGroup, ...change });
    this.recordGroup = r.recordGroup;
    return r.committed;
  }
}
