import { ConfigError } from './errors.js';
import { runtimeEnv } from './env.js';

/**
 * Named moments a fault test or the chaos run may kill a process at, which no signal from
 * outside can hit exactly (in the manner of FreeBSD's fail points and TiKV's fail-rs).
 * `MNIST_FAILPOINTS=submit.after-record` makes a process SIGKILL itself on reaching that
 * point. Unset, as in production, a point costs one lookup in an empty set.
 */
export const FAILPOINTS = [
  /** The API wrote a submit's record and has not queued its task yet. */
  'submit.after-record',
] as const;
export type Failpoint = (typeof FAILPOINTS)[number];

let armed: ReadonlySet<string> | undefined;

/** The points MNIST_FAILPOINTS arms; an unknown name is a ConfigError, not a silent no-op. */
export function armedFailpoints(env = runtimeEnv()): ReadonlySet<string> {
  const names = (env.MNIST_FAILPOINTS ?? '')
    .split(',')
    .map((n) => n.trim())
    .filter(Boolean);
  const unknown = names.filter((n) => !(FAILPOINTS as readonly string[]).includes(n));
  if (unknown.length > 0)
    throw new ConfigError(
      unknown.map((n) => ({ variable: 'MNIST_FAILPOINTS', message: `unknown ${n} (known: ${FAILPOINTS.join(', ')})` })),
    );
  return new Set(names);
}

/** Kills this process (SIGKILL: no cleanup, as a crash) if MNIST_FAILPOINTS arms `name`. */
export function failpoint(name: Failpoint): void {
  armed ??= armedFailpoints();
  const proc = (globalThis as { process?: { pid: number; kill(pid: number, signal: string): void } }).process;
  if (armed.has(name)) proc?.kill(proc.pid, 'SIGKILL');
}
