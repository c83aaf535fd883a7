import { z } from 'zod';
import { JobIdSchema, JobSpecSchema, TrainerIdSchema, TRAINER_STATES } from '@mnist/protocol';

/**
 * Trainer-to-trainer messages over core NATS (request/reply). They only form groups:
 * the job's truth stays in the KV record, so a lost message costs a retry, never a job.
 */

/** On NATS_NAMES.recruitSubject: "who is idle?". Idle trainers reserve themselves and answer with an Offer. */
export const RecruitSchema = z.object({
  type: z.literal('recruit'),
  jobId: JobIdSchema,
  coordinator: TrainerIdSchema,
  /** Names this reservation; confirm and release must carry it. */
  token: z.string().min(1),
  backend: z.string(),
});
export type Recruit = z.infer<typeof RecruitSchema>;

/** Where a trainer's data listener takes its peers' connections (DATA_ADVERTISE, its port). */
export const DataEndpointSchema = z.object({
  host: z.string().min(1).max(255),
  port: z.number().int().min(1).max(65_535),
});

/** `data` is absent from trainers that cannot take direct connections (older versions): the group then uses NATS. */
export const OfferSchema = z.object({
  trainerId: TrainerIdSchema,
  backend: z.string(),
  host: z.string(),
  data: DataEndpointSchema.optional(),
});
export type Offer = z.infer<typeof OfferSchema>;

/** Everything a rank needs to start: it reads nothing else before training. */
export const AssignmentSchema = z.object({
  jobId: JobIdSchema,
  attempt: z.number().int().min(1),
  rank: z.number().int().min(0),
  worldSize: z.number().int().min(1),
  /** Trainer ids in rank order. */
  members: z.array(TrainerIdSchema),
  spec: JobSpecSchema,
  /** Epoch of the checkpoint every rank must resume from (0: fresh start). */
  resumeEpoch: z.number().int().min(0),
  /** Every member's data endpoint in rank order, when all advertised one; otherwise gradients go through NATS. */
  endpoints: z.array(DataEndpointSchema).optional(),
  /** Names this attempt on the data plane: a dialer must present it (a stale attempt or a stranger cannot join). */
  secret: z.string().min(16).max(128).optional(),
  /** Which group of the attempt (an elastic job's resizes count up from 0): its own data-plane namespace. */
  group: z.number().int().min(0).default(0),
  /** A rank joining a running elastic group at this epoch: it takes its state from the group, no checkpoint. */
  joinAtEpoch: z.number().int().min(1).optional(),
  /**
   * An elastic job's task, as the coordinator took it off the queue: every member keeps it
   * alive, and a member that takes over from a lost coordinator settles it.
   */
  task: z
    .object({
      reply: z.string().regex(/^\$JS\.ACK\./),
      seq: z.number().int().min(0),
      deliveries: z.number().int().min(1),
    })
    .optional(),
});
export type Assignment = z.infer<typeof AssignmentSchema>;

/** On NATS_NAMES.trainerInbox(id). */
export const InboxMessageSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('confirm'), token: z.string(), assignment: AssignmentSchema }),
  z.object({ type: z.literal('release'), token: z.string() }),
  z.object({ type: z.literal('status') }),
  /** To a rank of a running elastic group: go on in this new group (same attempt), from the group's state. */
  z.object({ type: z.literal('regroup'), assignment: AssignmentSchema }),
]);
export type InboxMessage = z.infer<typeof InboxMessageSchema>;

export const ConfirmReplySchema = z.discriminatedUnion('ok', [
  z.object({ ok: z.literal(true) }),
  z.object({ ok: z.literal(false), reason: z.string() }),
]);
export type ConfirmReply = z.infer<typeof ConfirmReplySchema>;

export const StatusReplySchema = z.object({
  trainerId: TrainerIdSchema,
  state: z.enum([...TRAINER_STATES, 'reserved']),
  jobId: z.string().optional(),
  attempt: z.number().int().optional(),
  rank: z.number().int().optional(),
});
export type StatusReply = z.infer<typeof StatusReplySchema>;

const encoder = new TextEncoder();
const decoder = new TextDecoder();
export const encodeJson = (v: unknown) => encoder.encode(JSON.stringify(v));

/** Parses a message body with a schema; undefined (never a throw) for garbage from the wire. */
export function decodeJson<S extends z.ZodType>(schema: S, data: Uint8Array): z.output<S> | undefined {
  try {
    const parsed = schema.safeParse(JSON.parse(decoder.decode(data)));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}
