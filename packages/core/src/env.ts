import { z } from 'zod';
import { ConfigError } from './errors.js';

export type EnvSource = Record<string, string | undefined>;

/** `process.env` on Node; an empty object where there is none (Workers pass their bindings). */
export const runtimeEnv = (): EnvSource => (globalThis as { process?: { env?: EnvSource } }).process?.env ?? {};

/** '1', 'true', 'yes', 'on' / '0', 'false', 'no', 'off' (any case). */
export const envBoolean = z
  .string()
  .trim()
  .toLowerCase()
  .refine(
    (v) => ['1', 'true', 'yes', 'on', '0', 'false', 'no', 'off'].includes(v),
    'must be 1/0, true/false, yes/no or on/off',
  )
  .transform((v) => ['1', 'true', 'yes', 'on'].includes(v));

/** A whole number given as text, e.g. a duration in milliseconds. */
export const envInt = (min = 1, max = Number.MAX_SAFE_INTEGER) =>
  z.coerce.number().int('must be a whole number').min(min).max(max);

export const LOG_LEVELS = ['debug', 'info', 'warn', 'error'] as const;

/** The variable every process reads the same way. */
export const LOG_ENV = { LOG_LEVEL: z.enum(LOG_LEVELS).default('info') };

export interface Env<S extends z.ZodRawShape> {
  readonly shape: S;
  /** Validates `env` once; throws one ConfigError naming every bad variable. */
  parse(env?: EnvSource): z.output<z.ZodObject<S>>;
}

/**
 * One way to read the environment for every app. A variable set to the empty string is
 * unset (as in a shell's `VAR= cmd`), so each field's `.default()` or `.optional()`
 * applies to both. Compose shapes with spread: `createEnv({ ...CLUSTER_ENV, ...LOG_ENV, PORT: ... })`.
 */
export function createEnv<S extends z.ZodRawShape>(shape: S): Env<S> {
  const schema = z.object(shape);
  return {
    shape,
    parse(env = runtimeEnv()) {
      const present = Object.fromEntries(Object.keys(shape).map((k) => [k, env[k] === '' ? undefined : env[k]]));
      const parsed = schema.safeParse(present);
      if (parsed.success) return parsed.data;
      throw new ConfigError(
        parsed.error.issues.map((i) => ({ variable: i.path.join('.') || '(env)', message: i.message })),
      );
    },
  };
}
