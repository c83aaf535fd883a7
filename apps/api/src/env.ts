import { z } from 'zod';
import type { AppOptions } from './app.js';
import { CLUSTER_ENV, toClusterConfig, type ClusterConfig } from '@mnist/cluster/edge';
import { createEnv, envBoolean, envInt, LOG_ENV, type EnvSource, type LogLevel } from '@mnist/core';
import { MAX_REPLICAS } from '@mnist/protocol';

/** The API's variables on top of the cluster's (NATS_URL, S3_*). */
export const ApiEnv = createEnv({
  ...CLUSTER_ENV,
  ...LOG_ENV,
  PORT: envInt(0, 65_535).default(8787),
  HOST: z.string().trim().min(1).default('0.0.0.0'),
  // RFC 6750's token characters: what a bearer header can carry.
  API_TOKEN: z
    .string()
    .regex(
      /^(?=.{16,512}$)[A-Za-z0-9._~+/-]+=*$/,
      'must be 16-512 characters from A-Z a-z 0-9 . _ ~ + / - (then = padding), e.g. `openssl rand -hex 32`',
    )
    .optional(),
  API_PUBLIC_READ: envBoolean.default(false),
  API_BODY_LIMIT: envInt(1024, 16 * 1024 * 1024).default(64 * 1024),
  SSE_KEEPALIVE_MS: envInt(100, 300_000).default(15_000),
  // Admission and the reconciler (apps/api/README.md "Job lifecycle").
  MAX_REPLICAS: envInt(1, MAX_REPLICAS).default(MAX_REPLICAS),
  MAX_QUEUED: envInt(1, 1_000_000).default(1_000),
  JOB_MAX_WAIT_MS: envInt(0).default(24 * 3600_000),
  JOB_RETENTION_MS: envInt(0).default(7 * 24 * 3600_000),
  RECONCILE_INTERVAL_MS: envInt(100, 600_000).default(5_000),
  ORPHAN_GRACE_MS: envInt(0, 3_600_000).default(15_000),
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
  maxReplicas: number;
  maxQueued: number;
  reconcile: { intervalMs: number; orphanGraceMs: number; maxWaitMs: number; retentionMs: number };
}

/** Validates the environment once at start-up; throws ConfigError naming every bad variable. */
export function parseApiEnv(env?: EnvSource): ApiConfig {
  const e = ApiEnv.parse(env);
  return {
    cluster: toClusterConfig(e),
    port: e.PORT,
    host: e.HOST,
    ...(e.API_TOKEN && { token: e.API_TOKEN }),
    publicRead: e.API_PUBLIC_READ,
    bodyLimitBytes: e.API_BODY_LIMIT,
    sseKeepAliveMs: e.SSE_KEEPALIVE_MS,
    logLevel: e.LOG_LEVEL,
    maxReplicas: e.MAX_REPLICAS,
    maxQueued: e.MAX_QUEUED,
    reconcile: {
      intervalMs: e.RECONCILE_INTERVAL_MS,
      orphanGraceMs: e.ORPHAN_GRACE_MS,
      maxWaitMs: e.JOB_MAX_WAIT_MS,
      retentionMs: e.JOB_RETENTION_MS,
    },
  };
}

/** The app's options from the configuration (both shells). */
export function appOptionsOf(config: ApiConfig) {
  return {
    ...(config.token && { token: config.token }),
    publicRead: config.publicRead,
    bodyLimitBytes: config.bodyLimitBytes,
    sseKeepAliveMs: config.sseKeepAliveMs,
    maxReplicas: config.maxReplicas,
    maxQueued: config.maxQueued,
  } satisfies AppOptions;
}
