import { hostname } from 'node:os';
import { z } from 'zod';
import { CLUSTER_ENV, toClusterConfig, type ClusterConfig } from '@mnist/cluster';
import { createEnv, envInt, LOG_ENV, type EnvSource, type LogLevel } from '@mnist/core';
import { BACKEND_CHOICES, TrainerIdSchema, type BackendChoice } from '@mnist/protocol';

/** Every knob of a trainer, by environment variable; durations in milliseconds. */
export const TrainerEnv = createEnv({
  ...CLUSTER_ENV,
  ...LOG_ENV,
  MNIST_BACKEND: z.enum(BACKEND_CHOICES, { error: () => `must be one of ${BACKEND_CHOICES.join(', ')}` }).default('auto'),
  MNIST_DIR: z.string().optional(),
  TRAINER_ID: TrainerIdSchema.optional(),
  HEARTBEAT_MS: envInt(100).default(2_000),
  TRAINER_TTL_MS: envInt(500).default(15_000),
  TASK_ACK_WAIT_MS: envInt(1_000).default(30_000),
  RECRUIT_WINDOW_MS: envInt(10).default(500),
  RESERVATION_MS: envInt(100).default(5_000),
  REQUEUE_DELAY_MS: envInt(0).default(3_000),
  COLLECTIVE_TIMEOUT_MS: envInt(100).default(30_000),
  COLLECTIVE_SLOW_TIMEOUT_MS: envInt(100).default(300_000),
  MAX_ATTEMPTS: envInt(1).default(5),
  S3_RETRY_MS: envInt(0).default(60_000),
  DRAIN_GRACE_MS: envInt(0).default(0),
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

export function parseTrainerEnv(env?: EnvSource): TrainerConfig {
  const e = TrainerEnv.parse(env);
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
