import { z } from 'zod';
import { createEnv, envBoolean, envInt, type EnvSource } from '@mnist/core';

const natsUrl = z
  .string()
  .trim()
  .refine(
    (v) =>
      v.split(',').every((u) => /^(nats|tls|ws|wss):\/\/[^\s/]+$/.test(u.trim()) || /^[^\s:/]+:\d+$/.test(u.trim())),
    'must be nats://host:port (or a comma-separated list of them)',
  );

/** S3 bucket naming rules (the part every S3-compatible server agrees on). */
const bucketName = z
  .string()
  .regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, 'must be 3-63 lowercase letters, digits, dots or hyphens');

/**
 * The variables every cluster process reads (docs/architecture.md "Public contracts"), as a shape for
 * `createEnv` from @mnist/core; apps spread it into their own. AWS credentials are not
 * here on purpose: the S3 client takes them from the SDK's default chain
 * (AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, profiles, instance roles).
 */
export const CLUSTER_ENV = {
  NATS_URL: natsUrl.optional(),
  /** Copies of every stream and KV bucket (JetStream `num_replicas`): 3 on a 3-node cluster. */
  NATS_REPLICAS: envInt(1, 5).optional(),
  S3_ENDPOINT: z.url({ protocol: /^https?$/, error: 'must be an http(s) URL' }).optional(),
  S3_BUCKET: bucketName.optional(),
  S3_REGION: z.string().trim().min(1).optional(),
  S3_FORCE_PATH_STYLE: envBoolean.optional(),
};

type ClusterEnv = z.output<z.ZodObject<typeof CLUSTER_ENV>>;

/** Shaped like @mnist/storage's S3Config, so it can be passed to S3Store.connect as is. */
export interface S3Settings {
  bucket: string;
  region: string;
  endpoint?: string;
  forcePathStyle: boolean;
}

export interface ClusterConfig {
  /** Servers to try, from NATS_URL. */
  natsServers: string[];
  /** NATS_REPLICAS: how many servers keep each stream and bucket (applies when they are created). */
  natsReplicas: number;
  s3: S3Settings;
}

export const CLUSTER_DEFAULTS = {
  natsUrl: 'nats://127.0.0.1:4222',
  natsReplicas: 1,
  s3Bucket: 'mnist',
  s3Region: 'us-east-1',
} as const;

/** The cluster part of a parsed environment, defaults filled. */
export function toClusterConfig(env: ClusterEnv): ClusterConfig {
  const endpoint = env.S3_ENDPOINT;
  return {
    natsServers: (env.NATS_URL ?? CLUSTER_DEFAULTS.natsUrl).split(',').map((u) => u.trim()),
    natsReplicas: env.NATS_REPLICAS ?? CLUSTER_DEFAULTS.natsReplicas,
    s3: {
      bucket: env.S3_BUCKET ?? CLUSTER_DEFAULTS.s3Bucket,
      region: env.S3_REGION ?? CLUSTER_DEFAULTS.s3Region,
      ...(endpoint ? { endpoint } : {}),
      // MinIO and s3rver need path-style URLs; AWS wants virtual-hosted ones. Default follows the endpoint.
      forcePathStyle: env.S3_FORCE_PATH_STYLE ?? endpoint !== undefined,
    },
  };
}

const clusterEnv = createEnv(CLUSTER_ENV);

export function parseClusterEnv(env?: EnvSource): ClusterConfig {
  return toClusterConfig(clusterEnv.parse(env));
}
