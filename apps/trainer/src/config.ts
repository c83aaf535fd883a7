import { hostname, networkInterfaces } from 'node:os';
import { z } from 'zod';
import { CLUSTER_ENV, toClusterConfig, type ClusterConfig } from '@mnist/cluster';
import { ConfigError, createEnv, envInt, LOG_ENV, type EnvSource, type LogLevel } from '@mnist/core';
import { BACKEND_CHOICES, TrainerIdSchema, type BackendChoice } from '@mnist/protocol';

/** Every knob of a trainer, by environment variable; durations in milliseconds. */
export const TrainerEnv = createEnv({
  ...CLUSTER_ENV,
  ...LOG_ENV,
  MNIST_BACKEND: z
    .enum(BACKEND_CHOICES, { error: () => `must be one of ${BACKEND_CHOICES.join(', ')}` })
    .default('auto'),
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
  DATA_BIND: z.string().min(1).default('0.0.0.0'),
  DATA_PORT: z
    .string()
    .regex(/^\d{1,5}(-\d{1,5})?$/, 'must be a port, a range like 7100-7199, or 0 for any free port')
    .refine((v) => {
      const [lo, hi] = portRange(v);
      return lo <= hi && hi <= 65_535;
    }, 'must be ascending ports up to 65535')
    .default('0'),
  DATA_ADVERTISE: z.string().min(1).optional(),
  MESH_TIMEOUT_MS: envInt(100).default(5_000),
  DATA_TLS_CERT: z.string().min(1).optional(),
  DATA_TLS_KEY: z.string().min(1).optional(),
  DATA_TLS_CA: z.string().min(1).optional(),
});

/**
 * The address peers dial: DATA_ADVERTISE as given, the host name by default, or with `ip` this
 * host's first non-loopback IPv4 address (a container's address on its network, say).
 */
export function advertisedHost(setting: string | undefined, interfaces = networkInterfaces()): string {
  if (setting !== 'ip') return setting ?? hostname();
  const ip = Object.values(interfaces)
    .flat()
    .find((a) => a && a.family === 'IPv4' && !a.internal);
  if (!ip)
    throw new ConfigError([
      { variable: 'DATA_ADVERTISE', message: "is 'ip' but this host has no non-loopback IPv4 address" },
    ]);
  return ip.address;
}

/** '7100-7199' -> [7100, 7199]; '7100' -> [7100, 7100]; '0' -> any free port. */
function portRange(v: string): [number, number] {
  const [lo, hi = lo] = v.split('-').map(Number) as [number, number?];
  return [lo, hi];
}

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
  /** The data plane: where this trainer listens for its peers' gradients and what it advertises. */
  data: {
    bind: string;
    ports: [number, number];
    advertise: string;
    meshTimeoutMs: number;
    /** PEM file paths; TLS on the data plane when cert and key are set (CA: whom to trust, default the system's). */
    tls?: { cert: string; key: string; ca?: string };
  };
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
    data: {
      bind: e.DATA_BIND,
      ports: portRange(e.DATA_PORT),
      advertise: advertisedHost(e.DATA_ADVERTISE),
      meshTimeoutMs: e.MESH_TIMEOUT_MS,
      ...(e.DATA_TLS_CERT && e.DATA_TLS_KEY
        ? { tls: { cert: e.DATA_TLS_CERT, key: e.DATA_TLS_KEY, ...(e.DATA_TLS_CA ? { ca: e.DATA_TLS_CA } : {}) } }
        : {}),
    },
  };
}
