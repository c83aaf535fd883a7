import { spawn, type ChildProcess } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from '@mnist/testing';

const REPO_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

export interface EdgeApiProcess {
  url: string;
  child: ChildProcess;
  /** wrangler's and the Worker's output so far (the Worker logs JSON lines through console). */
  output(): string;
  /** SIGTERM to the whole process group (launcher, wrangler, workerd), SIGKILL after 5 s. */
  stop(): Promise<void>;
}

/**
 * `npm run api:edge` as a user runs it: scripts/edge-dev.ts -> wrangler dev --local ->
 * workerd, in its own process group so that stopping it leaves no workerd behind.
 */
export async function spawnEdgeApi(env: Record<string, string>, timeoutMs = 90_000): Promise<EdgeApiProcess> {
  const port = await freePort();
  const child = spawn(process.execPath, ['--import', 'tsx', join('apps', 'api', 'scripts', 'edge-dev.ts')], {
    cwd: REPO_ROOT,
    env: { ...process.env, HOST: '127.0.0.1', WRANGLER_LOG: 'log', ...env, PORT: String(port) },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  let raw = '';
  const onData = (d: Buffer) => {
    raw += d.toString();
    if (process.env.API_LOGS) process.stderr.write(d);
  };
  child.stdout!.on('data', onData);
  child.stderr!.on('data', onData);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const url = `http://127.0.0.1:${port}`;
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const group = -child.pid!;
    process.kill(group, 'SIGTERM');
    const killer = setTimeout(() => {
      try {
        process.kill(group, 'SIGKILL');
      } catch {
        // already gone
      }
    }, 5_000);
    await exited;
    clearTimeout(killer);
  };
  // Ready once the Worker answers HTTP, with any status: a hub that cannot connect answers 503.
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`api:edge exited (${child.exitCode}) during start:\n${raw}`);
    const ok = await fetch(`${url}/healthz`, { signal: AbortSignal.timeout(10_000) }).then(
      async (r) => (await r.body?.cancel(), r.headers.has('content-type')),
      () => false,
    );
    if (ok) break;
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`api:edge did not answer within ${timeoutMs} ms:\n${raw}`);
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  return { url, child, output: () => raw, stop };
}
