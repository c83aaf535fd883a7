import { randomBytes } from 'node:crypto';
import { within } from '@mnist/core';
import { NATS_NAMES } from '@mnist/protocol';
import type { TrainerContext } from '../context.js';
import {
  ConfirmReplySchema,
  decodeJson,
  encodeJson,
  OfferSchema,
  StatusReplySchema,
  type Assignment,
  type InboxMessage,
  type Offer,
  type StatusReply,
} from './messages.js';

export interface Recruitment {
  token: string;
  /** Reserved peers, same backend as ours first, then by arrival. */
  peers: Offer[];
}

/**
 * Asks idle trainers to reserve themselves for `jobId` and collects up to `want` offers
 * within the recruit window. Every trainer that offers holds a reservation only for
 * RESERVATION_MS: offers beyond `want`, or arriving late, are released at once.
 */
export async function recruit(ctx: TrainerContext, jobId: string, want: number): Promise<Recruitment> {
  const token = randomBytes(8).toString('hex');
  if (want <= 0) return { token, peers: [] };
  const { bus } = ctx.cluster;
  const inbox = bus.inbox();
  const offers: Offer[] = [];
  let closed = false;
  let enough: () => void = () => undefined;
  const full = new Promise<void>((resolve) => (enough = resolve));
  const sub = bus.subscribe(inbox, (msg) => {
    const offer = decodeJson(OfferSchema, msg.data);
    if (!offer) return;
    if (closed || offers.length >= want) return release(ctx, offer.trainerId, token);
    offers.push(offer);
    if (offers.length >= want) enough();
  });
  bus.publish(
    NATS_NAMES.recruitSubject,
    encodeJson({ type: 'recruit', jobId, coordinator: ctx.id, token, backend: ctx.backend }),
    { reply: inbox },
  );
  await within(full, ctx.config.recruitWindowMs, undefined);
  closed = true;
  // Late offers still get released until their reservations would have expired anyway.
  setTimeout(() => sub.unsubscribe(), ctx.config.reservationMs).unref();
  const sameBackend = (o: Offer) => (o.backend === ctx.backend ? 0 : 1);
  return { token, peers: [...offers].sort((a, b) => sameBackend(a) - sameBackend(b)) };
}

export function release(ctx: TrainerContext, trainerId: string, token: string): void {
  ctx.cluster.bus.publish(NATS_NAMES.trainerInbox(trainerId), encodeJson({ type: 'release', token }));
}

/** Hands a reserved peer its rank. Resolves with why not when it did not accept (gone, expired). */
export async function confirm(
  ctx: TrainerContext,
  trainerId: string,
  token: string,
  assignment: Assignment,
): Promise<string | undefined> {
  return ask(ctx, trainerId, { type: 'confirm', token, assignment });
}

/** A request to a trainer's inbox answered by ok or a reason: undefined, or why not. */
async function ask(ctx: TrainerContext, trainerId: string, message: InboxMessage): Promise<string | undefined> {
  try {
    const reply = await ctx.cluster.bus.request(NATS_NAMES.trainerInbox(trainerId), encodeJson(message), {
      timeout: 5_000,
    });
    const parsed = decodeJson(ConfirmReplySchema, reply.data);
    if (!parsed) return `malformed ${message.type} reply`;
    return parsed.ok ? undefined : parsed.reason;
  } catch (err) {
    return (err as Error).message;
  }
}

/**
 * Tells a rank of a running elastic group its place in the next group;
 * resolves with why not when it did not take it.
 */
export async function sendRegroup(
  ctx: TrainerContext,
  trainerId: string,
  assignment: Assignment,
): Promise<string | undefined> {
  return ask(ctx, trainerId, { type: 'regroup', assignment });
}

/** Whether a trainer's status says it runs `attempt` of `jobId` (no answer: it does not). */
export function runsAttempt(status: StatusReply | undefined, jobId: string, attempt: number): boolean {
  return status?.state === 'busy' && status.jobId === jobId && status.attempt === attempt;
}

/** What a trainer says it is doing, or undefined when it does not answer (dead, partitioned). */
export async function askStatus(ctx: TrainerContext, trainerId: string): Promise<StatusReply | undefined> {
  try {
    const reply = await ctx.cluster.bus.request(NATS_NAMES.trainerInbox(trainerId), encodeJson({ type: 'status' }), {
      timeout: 2_000,
    });
    return decodeJson(StatusReplySchema, reply.data);
  } catch {
    return undefined;
  }
}
