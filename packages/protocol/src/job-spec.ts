import { z } from 'zod';
import { DATASET_NAMES, MODEL_NAMES } from './models.js';

/** Training set sizes bound the subset limits (the larger of MNIST and Fashion-MNIST, which agree). */
export const TRAIN_SET_SIZE = 60_000;
export const TEST_SET_SIZE = 10_000;

const SgdSchema = z
  .object({
    type: z.literal('sgd'),
    lr: z.number().positive().max(10).default(0.01),
    momentum: z.number().min(0).max(0.999).default(0.9),
  })
  .strict();

const AdamSchema = z
  .object({
    type: z.literal('adam'),
    lr: z.number().positive().max(10).default(0.001),
    beta1: z.number().min(0).max(0.9999).default(0.9),
    beta2: z.number().min(0).max(0.99999).default(0.999),
    epsilon: z.number().positive().max(1).default(1e-8),
  })
  .strict();

export const OptimizerSchema = z.discriminatedUnion('type', [SgdSchema, AdamSchema], {
  error: () => "optimizer.type must be 'sgd' or 'adam'",
});
export type OptimizerSpec = z.infer<typeof OptimizerSchema>;

/** The most ranks a job can have (also the span of a step's dropout seeds, one per rank: see @mnist/models). */
export const MAX_REPLICAS = 64;

const int = (min: number, max: number) => z.number().int().min(min).max(max);

/** Sweep ids name the set of jobs a sweep made (`mnist sweep`); same safe alphabet as job ids. */
export const SweepIdSchema = z
  .string()
  .regex(/^s-[A-Za-z0-9_-]{1,62}$/, "sweep id must be 's-' then 1-62 letters, digits, _ or -");

/**
 * How replicas agree. `step`: gradients are summed every step, so N replicas at global
 * batch B follow the one-trainer trajectory. `{ every: H }`: local SGD (DiLoCo-style):
 * each replica takes H steps on its own shard of each global batch, then the replicas
 * average their parameter change and apply it with an outer optimizer (`nesterov`:
 * outer SGD with Nesterov momentum; `average`: plain model averaging). Epochs always end
 * on an exchange, so evaluation and checkpoints see one model.
 */
export const SYNC_OUTER = ['nesterov', 'average'] as const;
export const LocalSyncSchema = z
  .object({
    every: int(1, 100_000),
    outer: z
      .enum(SYNC_OUTER, { error: () => `sync.outer must be one of ${SYNC_OUTER.join(', ')}` })
      .default('nesterov'),
    // DiLoCo uses 0.7 / 0.9 with 500 inner Adam steps; over 8-32 inner SGD-momentum steps
    // that overshoots (MNIST, measured: see the trainer's README), 1.0 / 0.5 does not.
    outerLr: z.number().positive().max(10).default(1),
    outerMomentum: z.number().min(0).max(0.999).default(0.5),
  })
  .strict();
export const SyncSchema = z.union([z.literal('step'), LocalSyncSchema], {
  error: () => "sync must be 'step' or { every: H, outer?: 'nesterov' | 'average', outerLr?, outerMomentum? }",
});
export type SyncSpec = z.infer<typeof SyncSchema>;
export type LocalSyncSpec = z.infer<typeof LocalSyncSchema>;

/** How gradients travel between replicas (see the trainer's README); every algorithm gives the same sum. */
export const COLLECTIVE_CHOICES = ['auto', 'direct', 'reduce-scatter'] as const;
export type CollectiveChoice = (typeof COLLECTIVE_CHOICES)[number];

/** Printable text on one line (no control characters): names and tag values show up in tables and pages. */
const PRINTABLE = /^[^\p{Cc}]*$/u;
export const TAG_KEY = /^[A-Za-z0-9_.-]{1,40}$/;
export const MAX_TAGS = 20;

/** A run's name, tags and note: how people find it again (`mnist jobs --tag`); the trainers ignore them. */
export const JobNameSchema = z.string().min(1).max(100).regex(PRINTABLE, 'name must be printable text on one line');
export const JobTagsSchema = z
  .record(z.string(), z.string().max(100).regex(PRINTABLE, 'tag values must be printable text on one line'))
  // Keys checked here, not by the record's key schema: zod would only say "Invalid key in record".
  .refine((t) => Object.keys(t).every((k) => TAG_KEY.test(k)), 'tag keys are 1-40 letters, digits, _ . or -')
  .refine((t) => Object.keys(t).length <= MAX_TAGS, `at most ${MAX_TAGS} tags`);
export const JobNoteSchema = z.string().max(1000);

/**
 * What carries the gradients between ranks: `tcp`, direct connections between the trainers
 * (the default's choice); `nats`, through the broker; `auto`, TCP when every rank reaches its
 * peers within the mesh deadline, otherwise NATS for the whole group (said in the log and events).
 */
export const TRANSPORT_CHOICES = ['auto', 'tcp', 'nats'] as const;
export type TransportChoice = (typeof TRANSPORT_CHOICES)[number];

/**
 * Weak scaling, as DDP users scale: each replica takes `batchPerReplica` examples a step, so
 * the global batch is that times the group's size, and the learning rate grows with it
 * (Goyal et al. 2017, "Accurate, Large Minibatch SGD"): `linear` multiplies it by the number
 * of replicas, reached by a linear warmup from the spec's rate over `warmupEpochs` epochs;
 * `none` keeps the spec's rate. The spec's `batchSize` is then not used.
 */
export const LR_SCALING = ['linear', 'none'] as const;
export const ScalingSchema = z
  .object({
    batchPerReplica: int(1, 8192),
    lr: z.enum(LR_SCALING, { error: () => `scaling.lr must be one of ${LR_SCALING.join(', ')}` }).default('linear'),
    warmupEpochs: z.number().min(0).max(100).default(1),
  })
  .strict();
export type ScalingSpec = z.infer<typeof ScalingSchema>;

/**
 * What to train. The same object is `spec.json` of a local run and the body of
 * `POST /v1/jobs`. `batchSize` is the global batch: N replicas each take batchSize/N.
 */
export const JobSpecSchema = z
  .object({
    model: z.enum(MODEL_NAMES, { error: () => `model must be one of ${MODEL_NAMES.join(', ')}` }),
    dataset: z
      .enum(DATASET_NAMES, { error: () => `dataset must be one of ${DATASET_NAMES.join(', ')}` })
      .default('mnist'),
    epochs: int(1, 1000).default(10),
    batchSize: int(1, 8192).default(64),
    optimizer: OptimizerSchema.default({ type: 'sgd', lr: 0.01, momentum: 0.9 }),
    seed: int(0, 2 ** 31 - 1).default(1),
    replicas: int(1, MAX_REPLICAS).default(1),
    minReplicas: int(1, MAX_REPLICAS).optional(),
    trainLimit: int(1, TRAIN_SET_SIZE).optional(),
    testLimit: int(1, TEST_SET_SIZE).optional(),
    checkpointEvery: int(1, 1000).default(1),
    /** Set on the jobs of a sweep (POST /v1/sweeps); the trainers ignore it. */
    sweepId: SweepIdSchema.optional(),
    sync: SyncSchema.default('step'),
    collective: z
      .enum(COLLECTIVE_CHOICES, { error: () => `collective must be one of ${COLLECTIVE_CHOICES.join(', ')}` })
      .default('auto'),
    scaling: ScalingSchema.optional(),
    transport: z
      .enum(TRANSPORT_CHOICES, { error: () => `transport must be one of ${TRANSPORT_CHOICES.join(', ')}` })
      .default('auto'),
    name: JobNameSchema.optional(),
    tags: JobTagsSchema.optional(),
    note: JobNoteSchema.optional(),
  })
  .strict()
  .refine((s) => s.minReplicas === undefined || s.minReplicas <= s.replicas, {
    message: 'minReplicas must not exceed replicas',
    path: ['minReplicas'],
  })
  // A group that changes size keeps one global batch (weak scaling's would change with the size).
  .refine((s) => !isElastic(s) || s.scaling === undefined, {
    message: 'a replica range (minReplicas below replicas) needs a fixed global batch: no scaling',
    path: ['minReplicas'],
  })
  .refine((s) => s.batchSize >= s.replicas, {
    message: 'batchSize (the global batch) must be at least replicas so every rank gets a sample',
    path: ['batchSize'],
  });

export type JobSpecInput = z.input<typeof JobSpecSchema>;

/**
 * A replica range MIN:MAX (`minReplicas` to `replicas`): the job starts with at least MIN
 * trainers, grows to MAX at epoch boundaries, and goes on with fewer when a rank is lost
 * (down to MIN) in the same attempt. `replicas: N` alone is the fixed range N:N.
 */
export function isElastic(spec: { replicas: number; minReplicas?: number | undefined }): boolean {
  return (spec.minReplicas ?? spec.replicas) < spec.replicas;
}

/**
 * The global batch of a group of `worldSize` replicas: `batchSize`, or `scaling.batchPerReplica`
 * times the replicas.
 */
export function globalBatchSize(spec: Pick<JobSpec, 'batchSize' | 'scaling'>, worldSize: number): number {
  return spec.scaling ? spec.scaling.batchPerReplica * worldSize : spec.batchSize;
}
export type JobSpec = z.output<typeof JobSpecSchema>;

export interface SpecIssue {
  path: string;
  message: string;
}

/** The issues of a failed parse, flattened for error bodies and CLI messages. */
export function specIssues(error: z.ZodError): SpecIssue[] {
  return error.issues.map((i) => ({ path: i.path.join('.') || '(root)', message: i.message }));
}

export class InvalidJobSpecError extends Error {
  override readonly name = 'InvalidJobSpecError';
  constructor(readonly issues: SpecIssue[]) {
    super(`invalid job spec: ${issues.map((i) => `${i.path}: ${i.message}`).join('; ')}`);
  }
}

/** Validates untrusted input into a complete spec (defaults filled), or throws InvalidJobSpecError. */
export function parseJobSpec(input: unknown): JobSpec {
  const parsed = JobSpecSchema.safeParse(input);
  if (!parsed.success) throw new InvalidJobSpecError(specIssues(parsed.error));
  return parsed.data;
}
