import { z } from 'zod';
import { ConfigError } from './errors.js';

/** Unset and empty variables are the same thing: both take the default. */
const optional = <T extends z.ZodType>(schema: T) => z.preprocess((v) => (v === '' ? undefined : v), schema.optional());

/** '1', 'true', 'yes', 'on' / '0', 'false', 'no', 'off' (any case). */
export const envBoolean = z
  .string()
  .trim()
  .toLowerCase()
  .refine((v) => ['1', 'true', 'yes', 'on', '0', 'false', 'no', 'off'].includes(v), 'must be 1/0, true/false, yes/no or on/off')
  .transform((v) => ['1', 'true', 'yes', 'on'].includes(v));

/** A positive integer given as text, e.g. a duration in milliseconds. */
export const envInt = (min = 1, max = Number.MAX_SAFE_INTEGER) =>
  z.coerce.number().int('must be a whole number').min(min).max(max);

const natsUrl = z
  .string()
  .trim()
  .refine(
    (v) => v.split(',').every((u) => /^(nats|tls|ws|wss):\/\/[^\s/]+$/.test(u.trim()) || /^[^\s:/]+:\d+$/.test(u.trim())),
    'must be nats://host:port (or a comma-separated list of them)',
  );

/** S3 bucket naming rules (the part every S3-compatible server agrees on). */
const bucketName = z.string().regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, 'must be 3-63 lowercase letters, digits, dots or hyphens');

/**
 * The variables every cluster process reads (ARCHITECTURE.md "Contracts"). AWS credentials
 * are not here on purpose: the S3 client takes them from the SDK's default chain
 * (AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, profiles, instance roles).
 */
export const ClusterEnvSchema = z.object({
  NATS_URL: optional(natsUrl),
  S3_ENDPOINT: optional(z.url({ protocol: /^https?$/, error: 'must be an http(s) URL' })),
  S3_BUCKET: optional(bucketName),
  S3_REGION: optional(z.string().trim().min(1)),
  S3_FORCE_PATH_STYLE: optional(envBoolean),
});

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
  s3: S3Settings;
}

export const CLUSTER_DEFAULTS = {
  natsUrl: 'nats://127.0.0.1:4222',
  s3Bucket: 'mnist',
  s3Region: 'us-east-1',
} as const;

/**
 * Checks `env` against any zod object schema (extend ClusterEnvSchema with an app's own
 * variables) and throws one ConfigError naming every bad variable.
 */
export function parseEnv<S extends z.ZodObject>(schema: S, env: Record<string, string | undefined> = process.env): z.output<S> {
  const parsed = schema.safeParse(env);
  if (parsed.success) return parsed.data;
  throw new ConfigError(parsed.error.issues.map((i) => ({ variable: i.path.join('.') || '(env)', message: i.message })));
}

/** The cluster part of a parsed environment, defaults filled. */
export function toClusterConfig(env: z.output<typeof ClusterEnvSchema>): ClusterConfig {
  const endpoint = env.S3_ENDPOINT;
  return {
    natsServers: (env.NATS_URL ?? CLUSTER_DEFAULTS.natsUrl).split(',').map((u) => u.trim()),
    s3: {
      bucket: env.S3_BUCKET ?? CLUSTER_DEFAULTS.s3Bucket,
      region: env.S3_REGION ?? CLUSTER_DEFAULTS.s3Region,
      ...(endpoint ? { endpoint } : {}),
      // MinIO and s3rver need path-style URLs; AWS wants virtual-hosted ones. Default follows the endpoint.
      forcePathStyle: env.S3_FORCE_PATH_STYLE ?? endpoint !== undefined,
    },
  };
}

export function parseClusterEnv(env: Record<string, string | undefined> = process.env): ClusterConfig {
  return toClusterConfig(parseEnv(ClusterEnvSchema, env));
}
