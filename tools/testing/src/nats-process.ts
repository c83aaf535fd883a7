import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { waitForPort } from './ports.js';

export class NatsServerMissingError extends Error {
  override readonly name = 'NatsServerMissingError';
}

export function assertNatsBinary(bin: string): void {
  const probe = spawnSync(bin, ['--version'], { encoding: 'utf8' });
  if (probe.error || probe.status !== 0) {
    throw new NatsServerMissingError(
      `'${bin}' is not runnable (${probe.error?.message ?? probe.stderr}). ` +
        'Install nats-server 2.9+ (Debian: apt-get install nats-server) and put it on PATH.',
    );
  }
}

/** One nats-server process: started with `args`, ready once every port in `ports` accepts. */
export async function launchNats(
  bin: string,
  args: string[],
  host: string,
  ports: number[],
  prefix: string[] = [],
): Promise<ChildProcess> {
  // `ip netns exec` execs the server in place: the child's pid is the server's, signals reach it.
  const [cmd, ...rest] = [...prefix, bin, ...args];
  const child = spawn(cmd!, rest, { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4000)));
  // 'close', not 'exit': it comes after stderr is drained, so the error carries the server's last words.
  const exited = new Promise<never>((_, reject) =>
    child.once('close', (code) => reject(new Error(`nats-server exited (${code}) during start: ${stderr}`))),
  );
  try {
    for (const port of ports) await Promise.race([waitForPort(port, 10_000, host), exited]);
  } catch (err) {
    child.kill('SIGKILL');
    throw err;
  }
  exited.catch(() => undefined); // a later exit is the owner's business (a test kills it on purpose)
  return child;
}

/** Sends `sig` (SIGTERM: a clean shutdown; SIGKILL: a crash) and waits for the exit. */
export async function endNats(child: ChildProcess | undefined, sig: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  await new Promise<void>((resolve) => {
    child.once('exit', () => resolve());
    child.kill(sig);
  });
}
