// Runs torch_bench.py (the seed's recipe in PyTorch) for the benches that compare with
// it: the root `npm run bench` and the onednn addon's kernel harness.
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const SCRIPT = join(dirname(fileURLToPath(import.meta.url)), '..', 'torch_bench.py');

export interface TorchModelResult {
  trainImagesPerSec: number;
  evalImagesPerSec: number;
  [field: string]: unknown;
}

export type TorchBenchResult = { models: Record<string, TorchModelResult>; [field: string]: unknown } | { error: string };

/** A python3 that imports torch: $TORCH_PYTHON, Debian's /usr/bin/python3, then python3 on PATH. */
export function findTorchPython(): string | null {
  const pythons = [process.env.TORCH_PYTHON, '/usr/bin/python3', 'python3'].filter((p): p is string => !!p);
  return pythons.find((py) => spawnSync(py, ['-c', 'import torch'], { stdio: 'ignore' }).status === 0) ?? null;
}

export const TORCH_MISSING = 'python3-torch not installed (apt-get install python3-torch), or set TORCH_PYTHON';

/**
 * One run of torch_bench.py with `args` (--models, --steps, ...); its JSON, or why it
 * failed. `unset`: variables this process set for itself that PyTorch must not inherit
 * (the OpenMP defaults the onednn addon sets when it loads: `onednnDefaultedEnv()`).
 */
export function runTorchBench(python: string, args: string[], unset: readonly string[] = []): TorchBenchResult {
  const env = { ...process.env };
  for (const name of unset) delete env[name];
  const r = spawnSync(python, [SCRIPT, ...args], { encoding: 'utf8', env });
  if (r.status !== 0) return { error: `torch_bench.py failed: ${r.stderr.trim().split('\n').pop()}` };
  return JSON.parse(r.stdout) as TorchBenchResult;
}
