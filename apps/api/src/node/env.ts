import { z } from 'zod';
import { ClusterEnvSchema, envBoolean, envInt, parseEnv, RESOURCE_DEFAULTS, toClusterConfig, type ClusterConfig, type LogLevel } from '@mnist/cluster';

const orDefault = <T extends z.ZodType>(fallback: string, schema: T) => z.preprocess((v) => (v === undefined || v === '' ? fallback : v), schema);

/** The API's variables on top of the cluster's (NATS_URL, S3_*). */
export const ApiEnvSchema = ClusterEnvSchema.extend({
  PORT: orDefault('8787', envInt(0, 65_535)),
  HOST: orDefault('0.0.0.0', z.string().trim().min(1)),
  API_TOKEN: z.preprocess(
    (v) => (v === '' ? undefined : v),
    z.string().regex(/^[\x21-\x7e]{16,512}$/, 'must be 16-512 printable characters without spaces (e.g. `openssl rand -hex 32`)').optional(),
  ),
  API_PUBLIC_READ: orDefault('0', envBoolean),
  API_BODY_LIMIT: orDefault(String(64 * 1024), envInt(1024, 16 * 1024 * 1024)),
  SSE_KEEPALIVE_MS: orDefault('15000', envInt(100, 300_000)),
  LOG_LEVEL: orDefault('info', z.enum(['debug', 'info', 'warn', 'error'])),
  // Same variables and defaults as the trainers': the API opens the same broker resources.
  TRAINER_TTL_MS: orDefault(String(RESOURCE_DEFAULTS.trainerTtlMs), envInt(500)),
  TASK_ACK_WAIT_MS: orDefault(String(RESOURCE_DEFAULTS.taskAckWaitMs), envInt(1_000)),
  // Admission and the reconciler (apps/api/README.md "Job lifecycle").
  MAX_REPLICAS: orDefault('64', envInt(1, 64)),
  MAX_QUEUED: orDefault('1000', envInt(1, 1_000_000)),
  JOB_MAX_WAIT_MS: orDefault(String(24 * 3600_000), envInt(0)),
  JOB_RETENTION_MS: orDefault(String(7 * 24 * 3600_000), envInt(0)),
  RECONCILE_INTERVAL_MS: orDefault('5000', envInt(100, 600_000)),
  ORPHAN_GRACE_MS: orDefault('15000', envInt(0, 3_600_000)),
});

export interface ApiConfig {
  cluster: ClusterConfig;
  port: number;
  host: string;
  token?: string;
  publicRead: boolean;
  bodyLimitBytes: number;
  sseKeepAliveMs: number;
  logLevel: LogLevel;
  trainerTtlMs: number;
  taskAckWaitMs: number;
  maxReplicas: number;
  maxQueued: number;
  reconcile: { intervalMs: number; orphanGraceMs: number; maxWaitMs: number; retentionMs: number };
}

/** Validates the environment once at start-up; throws ConfigError naming every bad variable. */
export function parseApiEnv(env: Record<string, string | undefined> = process.env): ApiConfig {
  const e = parseEnv(ApiEnvSchema, env);
  return {
    cluster: toClusterConfig(e),
    port: e.PORT,
    host: e.HOST,
    ...(e.API_TOKEN && { token: e.API_TOKEN }),
    publicRead: e.API_PUBLIC_READ,
    bodyLimitBytes: e.API_BODY_LIMIT,
    sseKeepAliveMs: e.SSE_KEEPALIVE_MS,
    logLevel: e.LOG_LEVEL,
    trainerTtlMs: e.TRAINER_TTL_MS,
    taskAckWaitMs: e.TASK_ACK_WAIT_MS,
    maxReplicas: e.MAX_REPLICAS,
    maxQueued: e.MAX_QUEUED,
    reconcile: { intervalMs: e.RECONCILE_INTERVAL_MS, orphanGraceMs: e.ORPHAN_GRACE_MS, maxWaitMs: e.JOB_MAX_WAIT_MS, retentionMs: e.JOB_RETENTION_MS },
  };
}
