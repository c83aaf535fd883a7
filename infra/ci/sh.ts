// Small process helpers for the container test: run a command, capture its output, and
// fail with the command line and the tail of its output (never a bare exit code).
import { spawn } from 'node:child_process';

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  env?: Record<string, string | undefined>;
  /** Run with exactly `env`, not `env` on top of this process's environment. */
  replaceEnv?: boolean;
  /** Kill the command after this long (ms); its result then has code 124. */
  timeoutMs?: number;
  /** Echo the command's output as it comes, prefixed (long builds show progress). */
  echo?: string;
}

export function run(cmd: string, args: string[], o: RunOptions = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, {
      env: o.replaceEnv ? o.env : { ...process.env, ...o.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    const echo = (chunk: Buffer) => {
      if (o.echo)
        for (const line of chunk.toString().split('\n')) if (line.trim()) process.stderr.write(`${o.echo} ${line}\n`);
    };
    child.stdout.on('data', (d: Buffer) => ((stdout += d.toString()), echo(d)));
    child.stderr.on('data', (d: Buffer) => ((stderr += d.toString()), echo(d)));
    let timedOut = false;
    const timer = o.timeoutMs ? setTimeout(() => ((timedOut = true), child.kill('SIGKILL')), o.timeoutMs) : undefined;
    child.once('error', reject);
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code: timedOut ? 124 : (code ?? 1), stdout, stderr });
    });
  });
}

/** Runs and requires exit 0; returns stdout. */
export async function must(cmd: string, args: string[], o: RunOptions = {}): Promise<string> {
  const r = await run(cmd, args, o);
  if (r.code !== 0) {
    const tail = `${r.stdout}\n${r.stderr}`.trim().split('\n').slice(-30).join('\n');
    throw new Error(`${cmd} ${args.join(' ')} exited ${r.code}${r.code === 124 ? ' (timed out)' : ''}:\n${tail}`);
  }
  return r.stdout;
}

/** Polls `probe` until it returns a value (not undefined) or `timeoutMs` passes. */
export async function waitFor<T>(
  what: string,
  timeoutMs: number,
  probe: () => Promise<T | undefined>,
  everyMs = 1000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await probe();
      if (v !== undefined) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline)
      throw new Error(
        `timed out after ${timeoutMs / 1000} s waiting for ${what}${last ? `: ${(last as Error).message}` : ''}`,
      );
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
