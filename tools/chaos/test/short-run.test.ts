import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from '@mnist/dev-cluster';

const MAIN = join(REPO_ROOT, 'tools', 'chaos', 'src', 'main.ts');

/** Runs `npm run chaos` with these arguments; resolves with its exit code, summary and progress. */
function runChaos(args: string[]): Promise<{ code: number | null; summary: string; progress: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', MAIN, ...args], { cwd: REPO_ROOT });
    let summary = '';
    let progress = '';
    child.stdout.on('data', (d: Buffer) => (summary += d.toString()));
    child.stderr.on('data', (d: Buffer) => (progress += d.toString()));
    child.once('close', (code) => resolve({ code, summary, progress }));
  });
}

// The "short seeded run" (about 2 minutes with start-up and settling): the whole fleet,
// faults of several kinds, and the checker over what is left. The 30-minute run is for notes.
describe('npm run chaos', () => {
  it('a 1-minute seeded run: faults of several kinds strike, jobs keep succeeding, no invariant breaks', async () => {
    const run = await runChaos(['--minutes', '1', '--seed', '7', '--settle-seconds', '90']);
    expect(run.code, run.progress).toBe(0);
    const s = JSON.parse(run.summary) as {
      jobs: { submitted: number; byState: Record<string, number> };
      faults: { injected: number; kinds: number };
      violations: unknown[];
    };
    expect(s.violations).toEqual([]);
    // Seed 7 schedules 5 faults of 5 kinds in the first minute; one may miss its moment.
    expect(s.faults.injected, run.summary).toBeGreaterThanOrEqual(4);
    expect(s.faults.kinds).toBeGreaterThanOrEqual(4);
    expect(s.jobs.submitted).toBeGreaterThanOrEqual(10);
    expect(s.jobs.byState.succeeded ?? 0).toBeGreaterThanOrEqual(s.jobs.submitted / 2);
  }, 360_000);
});
