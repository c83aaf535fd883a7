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

const int = (min: number, max: number) => z.number().int().min(min).max(max);

/** Sweep ids name the set of jobs a sweep made (`mnist sweep`); same safe alphabet as job ids. */
export const SweepIdSchema = z.string().regex(/^s-[A-Za-z0-9_-]{1,62}$/, "sweep id must be 's-' then 1-62 letters, digits, _ or -");

/**
 * What to train. The same object is `spec.json` of a local run and the body of
 * `POST /v1/jobs`. `batchSize` is the global batch: N replicas each take batchSize/N.
 */
export const JobSpecSchema = z
  .object({
    model: z.enum(MODEL_NAMES, { error: () => `model must be one of ${MODEL_NAMES.join(', ')}` }),
    dataset: z.enum(DATASET_NAMES, { error: () => `dataset must be one of ${DATASET_NAMES.join(', ')}` }).default('mnist'),
    epochs: int(1, 1000).default(10),
    batchSize: int(1, 8192).default(64),
    optimizer: OptimizerSchema.default({ type: 'sgd', lr: 0.01, momentum: 0.9 }),
    seed: int(0, 2 ** 31 - 1).default(1),
    replicas: int(1, 64).default(1),
    minReplicas: int(1, 64).optional(),
    trainLimit: int(1, TRAIN_SET_SIZE).optional(),
    testLimit: int(1, TEST_SET_SIZE).optional(),
    checkpointEvery: int(1, 1000).default(1),
    /** Set on the jobs of a sweep (POST /v1/sweeps); the trainers ignore it. */
    sweepId: SweepIdSchema.optional(),
  })
  .strict()
  .refine((s) => s.minReplicas === undefined || s.minReplicas <= s.replicas, {
    message: 'minReplicas must not exceed replicas',
    path: ['minReplicas'],
  })
  .refine((s) => s.batchSize >= s.replicas, {
    message: 'batchSize (the global batch) must be at least replicas so every rank gets a sample',
    path: ['batchSize'],
  });

export type JobSpecInput = z.input<typeof JobSpecSchema>;
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
