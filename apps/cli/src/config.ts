import { z } from 'zod';
import { BACKEND_CHOICES } from '@mnist/protocol';
import { UsageError } from './errors.js';

/** Environment the CLI reads (ARCHITECTURE.md contracts), validated once at start-up. */
const EnvSchema = z.object({
  MNIST_DIR: z.string().min(1).optional(),
  MNIST_BACKEND: z.enum(BACKEND_CHOICES).default('auto'),
  RUNS_DIR: z.string().min(1).default('runs'),
  API_URL: z.url().default('http://127.0.0.1:8787'),
  API_TOKEN: z.string().min(1).optional(),
});
export type CliEnv = z.infer<typeof EnvSchema>;

export function readEnv(env: NodeJS.ProcessEnv = process.env): CliEnv {
  // An empty variable means "unset", as in most shells' `VAR= cmd`.
  const present = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ''));
  const parsed = EnvSchema.safeParse(present);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new UsageError(`environment variable ${issue.path.join('.')}: ${issue.message}`);
  }
  return parsed.data;
}
