import type { CliEnv } from '../../config.js';
import type { Output } from '../../output.js';

/** What every cluster verb gets from main.ts. */
export interface ClusterContext {
  env: CliEnv;
  out: Output;
  signal: AbortSignal;
  /** Tests hand in the API app's own fetch; the CLI uses the network. */
  fetch?: typeof fetch;
}
