import { z } from 'zod';
import { ConfigError, createEnv } from '@mnist/core';
import type { S3FetchConfig } from '@mnist/storage/s3-fetch';
import { ApiEnv, parseApiEnv, type ApiConfig } from '../env.js';
import type { DurableObjectNamespace } from './workers.js';

/** The Worker's bindings: the API's variables and secrets (strings), and the hub's namespace. */
export interface EdgeBindings {
  CLUSTER_HUB: DurableObjectNamespace;
  [name: string]: unknown;
}

export const EDGE_MODES = ['durable-object', 'per-request'] as const;
export type EdgeMode = (typeof EDGE_MODES)[number];

export interface EdgeConfig {
  api: ApiConfig;
  s3: S3FetchConfig;
  /** durable-object (default): one long-lived NATS connection in the hub; per-request: the fallback. */
  mode: EdgeMode;
}

const secret = z.string({ error: 'required on the edge (a secret): Workers have no default credential chain' }).min(1);

/** What the edge asks on top of the API's variables: the broker over WebSocket, explicit S3 credentials. */
const EdgeEnv = createEnv({
  NATS_URL: z
    .string({ error: "required on the edge: ws:// or wss:// of the broker's websocket listener" })
    .regex(
      /^wss?:\/\/[^\s,]+(\s*,\s*wss?:\/\/[^\s,]+)*$/,
      "must be ws:// or wss:// (the broker's websocket listener) on the edge",
    ),
  AWS_ACCESS_KEY_ID: secret,
  AWS_SECRET_ACCESS_KEY: secret,
  EDGE_MODE: z.enum(EDGE_MODES).default('durable-object'),
});

/** Every variable the Worker reads: the Node API's and the edge's (`npm run api:edge` passes these on). */
export const EDGE_VARIABLES: readonly string[] = [
  ...new Set([...Object.keys(ApiEnv.shape), ...Object.keys(EdgeEnv.shape)]),
];

/** Checks the bindings (the Node API's variables plus EdgeEnv's above); one ConfigError names every bad one. */
export function parseEdgeEnv(bindings: Record<string, unknown>): EdgeConfig {
  const env = Object.fromEntries(
    Object.entries(bindings).filter((e): e is [string, string] => typeof e[1] === 'string'),
  );
  const issues: ConfigError['issues'] = [];
  let edge: ReturnType<typeof EdgeEnv.parse> | undefined;
  let api: ApiConfig | undefined;
  try {
    edge = EdgeEnv.parse(env);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    issues.push(...err.issues);
  }
  try {
    api = parseApiEnv(env);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    issues.push(...err.issues);
  }
  if (!edge || !api) throw new ConfigError(issues);
  return {
    api,
    s3: {
      ...api.cluster.s3,
      credentials: { accessKeyId: edge.AWS_ACCESS_KEY_ID, secretAccessKey: edge.AWS_SECRET_ACCESS_KEY },
    },
    mode: edge.EDGE_MODE,
  };
}
