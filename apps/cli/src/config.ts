import { z } from 'zod';
import { ConfigError, createEnv, type EnvSource } from '@mnist/core';
import { BACKEND_CHOICES } from '@mnist/protocol';
import { UsageError } from './errors.js';

/** Environment the CLI reads (docs/architecture.md "Public contracts"), validated once at start-up. */
const CliEnvVars = createEnv({
  MNIST_DIR: z.string().min(1).optional(),
  MNIST_BACKEND: z.enum(BACKEND_CHOICES).default('auto'),
  RUNS_DIR: z.string().min(1).default('runs'),
  API_URL: z.url().default('http://127.0.0.1:8787'),
  API_TOKEN: z.string().min(1).optional(),
});
export type CliEnv = ReturnType<typeof CliEnvVars.parse>;

export function readEnv(env?: EnvSource): CliEnv {
  try {
    return CliEnvVars.parse(env);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    throw new UsageError(`environment: ${err.issues.map((i) => `${i.variable}: ${i.message}`).join('; ')}`);
  }
}
