import { spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const BIN = join(REPO_ROOT, 'apps', 'cli', 'bin', 'mnist.js');

export interface MnistResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the real `mnist` command (bin/mnist.js) in a child process and collects its output. */
export function runMnist(args: string[], o: { env?: Record<string, string>; cwd?: string } = {}): Promise<MnistResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], {
      env: { ...process.env, ...o.env },
      cwd: o.cwd ?? REPO_ROOT,
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d));
    child.stderr.on('data', (d: Buffer) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}
