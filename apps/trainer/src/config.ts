import { hostname } from 'node:os';
import { z } from 'zod';
import { ClusterEnvSchema, envInt, parseEnv, toClusterConfig, type ClusterConfig, type LogLevel } from '@mnist/cluster';
import { TrainerIdSchema } from '@mnist/protocol';
import { BACKEND_CHOICES, type BackendChoice } from '@mnist/training';

const ms = (fallback: number, min = 1) => z.preprocess((v) => (v === undefined || v === '' ? String(fallback) : v), envInt(min));
const text = z.preprocess((v) => (v === '' ? undefined : v), z.string().optional());

/** Every knob of a trainer, by environment variable; durations in milliseconds. */
export const TrainerEnvSchema = ClusterEnvSchema.extend({
  MNIST_BACKEND: z.preprocess((v) => (v === '' || v === undefined ? 'auto' : v), z.enum(BACKEND_CHOICES, { error: () => `must be one of ${BACKEND_CHOICES.join(', ')}` })),
  MNIST_DIR: text,
  TRAINER_ID: z.preprocess((v) => (v === '' ? undefined : v), TrainerIdSchema.optional()),
  LOG_LEVEL: z.preprocess((v) => (v === '' || v === undefined ? 'info' : v), z.enum(['debug', 'info', 'warn', 'error'])),
  HEARTBEAT_MS: ms(2_000, 100),
  TRAINER_TTL_MS: ms(15_000, 500),
  TASK_ACK_WAIT_MS: ms(30_000, 1_000),
  RECRUIT_WINDOW_MS: ms(500, 10),
  RESERVATION_MS: ms(5_000, 100),
  REQUEUE_DELAY_MS: ms(3_000, 0),
  COLLECTIVE_TIMEOUT_MS: ms(30_000, 100),
  COLLECTIVE_SLOW_TIMEOUT_MS: ms(300_000, 100),
  MAX_ATTEMPTS: ms(5, 1),
  S3_RETRY_MS: ms(60_000, 0),
  DRAIN_GRACE_MS: ms(0, 0),
});

export interface TrainerConfig {
  cluster: ClusterConfig;
  backend: BackendChoice;
  datasetDir?: string;
  trainerId: string;
  logLevel: LogLevel;
  heartbeatMs: number;
  trainerTtlMs: number;
  taskAckWaitMs: number;
  recruitWindowMs: number;
  reservationMs: number;
  requeueDelayMs: number;
  collectiveTimeoutMs: number;
  collectiveSlowTimeoutMs: number;
  maxAttempts: number;
  s3RetryMs: number;
  drainGraceMs: number;
}

/** `<host>-<pid>`, cut to the id alphabet: unique per process, readable in `mnist trainers`. */
export function defaultTrainerId(host = hostname(), pid = process.pid): string {
  const safeHost = host.replace(/[^A-Za-z0-9_-]/g, '-').slice(0, 40) || 'trainer';
  return `${safeHost}-${pid}`;
}

export function parseTrainerEnv(env: Record<string, string | undefined> = process.env): TrainerConfig {
  const e = parseEnv(TrainerEnvSchema, env);
  return {
    cluster: toClusterConfig(e),
    backend: e.MNIST_BACKEND,
    ...(e.MNIST_DIR ? { datasetDir: e.MNIST_DIR } : {}),
    trainerId: e.TRAINER_ID ?? defaultTrainerId(),
    logLevel: e.LOG_LEVEL,
    heartbeatMs: e.HEARTBEAT_MS,
    trainerTtlMs: e.TRAINER_TTL_MS,
    taskAckWaitMs: e.TASK_ACK_WAIT_MS,
    recruitWindowMs: e.RECRUIT_WINDOW_MS,
    reservationMs: e.RESERVATION_MS,
    requeueDelayMs: e.REQUEUE_DELAY_MS,
    collectiveTimeoutMs: e.COLLECTIVE_TIMEOUT_MS,
    collectiveSlowTimeoutMs: e.COLLECTIVE_SLOW_TIMEOUT_MS,
    maxAttempts: e.MAX_ATTEMPTS,
    s3RetryMs: e.S3_RETRY_MS,
    drainGraceMs: e.DRAIN_GRACE_MS,
  };
}
