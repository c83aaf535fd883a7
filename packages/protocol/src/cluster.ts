import { z } from 'zod';
import { JobSpecSchema, type JobSpec } from './job-spec.js';
import { EpochRecordSchema } from './records.js';

/** Names on the broker. One place, so api, trainer and cli can never disagree. */
export const NATS_NAMES = {
  /** KV bucket: job id -> JobRecord (the truth about every job). */
  jobsBucket: 'mnist-jobs',
  /** KV bucket: trainer id -> TrainerInfo, refreshed by heartbeats, entries expire. */
  trainersBucket: 'mnist-trainers',
  /** Work-queue stream of TaskMessage: each task is taken by one trainer. */
  tasksStream: 'MNIST_TASKS',
  /** A task's subject names its job, so "is job X on the queue?" is one direct read by subject. */
  taskSubject: (jobId: string) => `mnist.tasks.${jobId}`,
  tasksWildcard: 'mnist.tasks.>',
  /** The one durable pull consumer all trainers share on the work queue. */
  tasksConsumer: 'trainers',
  /** Stream of JobEvent, subject per job; the API replays it for SSE (id = stream sequence). */
  eventsStream: 'MNIST_EVENTS',
  eventsSubject: (jobId: string) => `mnist.events.${jobId}`,
  eventsWildcard: 'mnist.events.>',
  /** Stream of each job's trainer log lines (LogRecord), subject per job, bounded per subject. */
  logsStream: 'MNIST_LOGS',
  logsSubject: (jobId: string) => `mnist.logs.${jobId}`,
  logsWildcard: 'mnist.logs.>',
  /** Core-NATS subjects for forming data-parallel groups and exchanging gradients. */
  recruitSubject: 'mnist.recruit',
  trainerInbox: (trainerId: string) => `mnist.trainer.${trainerId}`,
  /** An attempt's group `group` (0 until an elastic job first changes size): a fresh namespace per group. */
  collectivePrefix: (jobId: string, attempt: number, group = 0) =>
    `mnist.collective.${jobId}.${attempt}${group > 0 ? `g${group}` : ''}`,
} as const;

/** Trainer ids name NATS subjects (trainerInbox) and KV keys: same safe alphabet as job ids. */
export const TrainerIdSchema = z
  .string()
  .regex(/^[A-Za-z0-9_-]{1,64}$/, 'trainer id must be 1-64 letters, digits, _ or -');

/**
 * `parked`: accepted, but the fleet is too small to place it now (the message says why);
 * it has no task on the work queue until the API's reconciler sees enough trainers.
 */
export const JOB_STATES = ['queued', 'parked', 'running', 'succeeded', 'failed', 'cancelled'] as const;
export type JobState = (typeof JOB_STATES)[number];
export const FINAL_STATES: readonly JobState[] = ['succeeded', 'failed', 'cancelled'];
export const isFinalState = (s: JobState) => FINAL_STATES.includes(s);

/** The fewest trainers a job can start with. */
export const neededTrainers = (spec: Pick<JobSpec, 'replicas' | 'minReplicas'>) => spec.minReplicas ?? spec.replicas;

/** Why a job is parked, in one wording for the API and the trainers: "needs 64 trainers, 2 live". */
export const parkedReason = (spec: Pick<JobSpec, 'replicas' | 'minReplicas'>, live: number) =>
  `needs ${neededTrainers(spec)} trainers, ${live} live`;

/** Job ids are used in NATS subjects, KV keys and S3 keys: keep them to a safe alphabet. */
export const JobIdSchema = z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'job id must be 1-64 letters, digits, _ or -');

export const JobRecordSchema = z.object({
  id: JobIdSchema,
  spec: JobSpecSchema,
  state: z.enum(JOB_STATES),
  createdAt: z.string(),
  updatedAt: z.string(),
  startedAt: z.string().optional(),
  finishedAt: z.string().optional(),
  /** Incremented each time a group (re)starts the job; resumed attempts continue from a checkpoint. */
  attempt: z.number().int().min(0),
  /** Trainer ids of the current group, rank order. */
  trainers: z.array(z.string()).default([]),
  /** Which group of the attempt holds it: 0 when claimed, one more at each resize of an elastic job. */
  group: z.number().int().min(0).default(0),
  /** Last epoch whose record is in metrics.jsonl. */
  epoch: z.number().int().min(0).default(0),
  backend: z.string().optional(),
  /** Why the job failed, or why it is waiting while queued or parked. */
  message: z.string().optional(),
});
export type JobRecord = z.infer<typeof JobRecordSchema>;

/** On the work queue: "job X needs a group". The record in KV says what and in which state. */
export const TaskMessageSchema = z.object({ jobId: JobIdSchema });
export type TaskMessage = z.infer<typeof TaskMessageSchema>;

export const TRAINER_STATES = ['idle', 'busy', 'draining'] as const;
export type TrainerState = (typeof TRAINER_STATES)[number];
export const TrainerInfoSchema = z.object({
  id: TrainerIdSchema,
  host: z.string(),
  pid: z.number().int(),
  backend: z.string(),
  state: z.enum(TRAINER_STATES),
  jobId: z.string().optional(),
  rank: z.number().int().optional(),
  startedAt: z.string(),
  lastSeen: z.string(),
});
export type TrainerInfo = z.infer<typeof TrainerInfoSchema>;

/** What the API streams to watchers (SSE) and the CLI prints: one union, tagged by `type`. */
export const JobEventSchema = z.discriminatedUnion('type', [
  z.object({
    type: z.literal('status'),
    jobId: z.string(),
    state: z.enum(JOB_STATES),
    attempt: z.number().int(),
    message: z.string().optional(),
    at: z.string(),
  }),
  z.object({ type: z.literal('epoch'), jobId: z.string(), record: EpochRecordSchema, at: z.string() }),
  /**
   * An attempt's group formed: its members in rank order and what carries its gradients (and why
   * NATS, after a fallback).
   */
  z.object({
    type: z.literal('group'),
    jobId: z.string(),
    attempt: z.number().int(),
    members: z.array(z.string()),
    transport: z.enum(['tcp', 'nats']),
    fallbackReason: z.string().optional(),
    at: z.string(),
  }),
  /** An elastic job's group changed in the same attempt: grew onto free trainers, lost a rank, or gave one back. */
  z.object({
    type: z.literal('resize'),
    jobId: z.string(),
    attempt: z.number().int(),
    group: z.number().int(),
    from: z.number().int(),
    to: z.number().int(),
    members: z.array(z.string()),
    /** The epoch and optimizer step the new group goes on from. */
    epoch: z.number().int(),
    step: z.number().int(),
    why: z.string(),
    at: z.string(),
  }),
  z.object({
    type: z.literal('progress'),
    jobId: z.string(),
    epoch: z.number().int(),
    step: z.number().int(),
    steps: z.number().int(),
    imagesPerSec: z.number(),
    loss: z.number(),
    at: z.string(),
  }),
]);
export type JobEvent = z.infer<typeof JobEventSchema>;

/** Cluster-only artifacts under `jobs/<id>/`, beside those of `artifactKeys`. */
export const CLUSTER_ARTIFACTS = {
  /** What the final model predicted on the job's test split, written by rank 0 at the end. */
  finalEval: 'final-eval.json',
} as const;

/** `final-eval.json`: enough to check that a model reloaded from the last checkpoint is the trained one. */
export const FinalEvalSchema = z.object({
  epoch: z.number().int().min(1),
  testCount: z.number().int().min(1),
  testLoss: z.number(),
  testAcc: z.number().min(0).max(1),
  /** sha256 (hex) of the arg-max class of every test image, as little-endian int32. */
  predictionsSha256: z.string().regex(/^[0-9a-f]{64}$/),
  backend: z.string(),
});
export type FinalEval = z.infer<typeof FinalEvalSchema>;
