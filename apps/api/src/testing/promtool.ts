import { spawnSync } from 'node:child_process';

/** `promtool check metrics` (Debian package `prometheus`) on exposition text: its exit status and lint output. */
export function promtoolCheck(text: string): { status: number | null; output: string } {
  const r = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
  if (r.error)
    throw new Error(`promtool is not runnable (${r.error.message}); install the Debian package 'prometheus'`);
  return { status: r.status, output: (r.stdout + r.stderr).trim() };
}
