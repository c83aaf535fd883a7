import { spawn, type ChildProcess } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** apps/trainer/src/main.ts, found from this file so callers may run from any folder. */
export const REPO_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
export const TRAINER_MAIN = join(REPO_ROOT, 'apps', 'trainer', 'src', 'main.ts');

/**
 * Short timers so that tests notice a lost trainer, peer or broker in seconds rather than
 * the production minutes. Every process of a test cluster (trainers and API) gets them:
 * TASK_ACK_WAIT_MS and TRAINER_TTL_MS configure shared broker resources.
 */
export const FAST_TEST_ENV = {
  TASK_ACK_WAIT_MS: '3000',
  HEARTBEAT_MS: '500',
  TRAINER_TTL_MS: '3000',
  RECRUIT_WINDOW_MS: '300',
  RESERVATION_MS: '2000',
  REQUEUE_DELAY_MS: '500',
  COLLECTIVE_TIMEOUT_MS: '6000',
  COLLECTIVE_SLOW_TIMEOUT_MS: '20000',
  S3_RETRY_MS: '3000',
  MAX_ATTEMPTS: '6',
} as const;

export interface LogLine {
  event: string;
  level: string;
  [field: string]: unknown;
}

export interface TrainerProcess {
  readonly id: string;
  readonly child: ChildProcess;
  /** Parsed JSON log lines so far. */
  readonly lines: LogLine[];
  /** Resolves with the exit code (null when killed by a signal). */
  readonly exited: Promise<number | null>;
  /** Resolves with the first line (past or future) that matches, or rejects after `timeoutMs`. */
  waitFor(match: (l: LogLine) => boolean, timeoutMs: number): Promise<LogLine>;
}

export interface SpawnTrainerOptions {
  id: string;
  env: Record<string, string>;
  /** Echo each line to this stream with a prefix (the dev cluster); tests keep them quiet. */
  echo?: NodeJS.WritableStream;
  /** A command that runs the trainer for us, e.g. `ip netns exec <ns>` to put it on another "host". */
  prefix?: string[];
}

/** Starts `node --import tsx apps/trainer/src/main.ts` as a real, separate process. */
export function spawnTrainer(o: SpawnTrainerOptions): TrainerProcess {
  const [cmd, ...args] = [...(o.prefix ?? []), process.execPath, '--import', 'tsx', TRAINER_MAIN];
  const child = spawn(cmd!, args, {
    cwd: REPO_ROOT,
    // All on this machine: peers reach each other's data plane over loopback unless told otherwise.
    env: { DATA_BIND: '127.0.0.1', DATA_ADVERTISE: '127.0.0.1', ...process.env, ...o.env, TRAINER_ID: o.id },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: LogLine[] = [];
  const watchers = new Set<(l: LogLine) => void>();
  const onText = (stream: 'out' | 'err') => {
    let rest = '';
    return (chunk: Buffer) => {
      const parts = (rest + chunk.toString()).split('\n');
      rest = parts.pop() ?? '';
      for (const text of parts) {
        if (!text.trim()) continue;
        o.echo?.write(`[${o.id}] ${text}\n`);
        let line: LogLine;
        try {
          line = JSON.parse(text) as LogLine;
        } catch {
          line = { event: stream === 'err' ? 'stderr' : 'stdout', level: 'info', text };
        }
        lines.push(line);
        for (const w of [...watchers]) w(line);
      }
    };
  };
  child.stdout!.on('data', onText('out'));
  child.stderr!.on('data', onText('err'));
  const exited = new Promise<number | null>((resolve) => child.once('close', (code) => resolve(code)));

  const waitFor = (match: (l: LogLine) => boolean, timeoutMs: number) =>
    new Promise<LogLine>((resolve, reject) => {
      const found = lines.find(match);
      if (found) return resolve(found);
      const timer = setTimeout(() => {
        watchers.delete(check);
        const tail = lines
          .slice(-15)
          .map((l) => JSON.stringify(l))
          .join('\n');
        reject(new Error(`trainer ${o.id}: no matching log line within ${timeoutMs} ms; last lines:\n${tail}`));
      }, timeoutMs);
      const check = (l: LogLine) => {
        if (!match(l)) return;
        clearTimeout(timer);
        watchers.delete(check);
        resolve(l);
      };
      watchers.add(check);
      exited.then((code) => {
        if (!watchers.has(check)) return;
        clearTimeout(timer);
        watchers.delete(check);
        reject(
          new Error(
            `trainer ${o.id} exited (${code}) before the expected log line; last: ${JSON.stringify(lines.slice(-8))}`,
          ),
        );
      }, reject);
    });

  return { id: o.id, child, lines, exited, waitFor };
}
