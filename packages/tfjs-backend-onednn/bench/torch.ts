// Runs bench/torch_bench.py (the seed's recipe in PyTorch) for both benches: this
// package's kernel harness and the root `npm run bench`.
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { defaultedEnv } from '../src/native.js';

const SCRIPT = join(dirname(fileURLToPath(import.meta.url)), 'torch_bench.py');

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

/** One run of torch_bench.py with `args` (--models, --steps, ...); its JSON, or why it failed. */
export function runTorchBench(python: string, args: string[]): TorchBenchResult {
  // PyTorch runs with the environment it would have had: without the OpenMP defaults
  // that loading our addon set in this process.
  const env = { ...process.env };
  for (const name of defaultedEnv) delete env[name];
  const r = spawnSync(python, [SCRIPT, ...args], { encoding: 'utf8', env });
  if (r.status !== 0) return { error: `torch_bench.py failed: ${r.stderr.trim().split('\n').pop()}` };
  return JSON.parse(r.stdout) as TorchBenchResult;
}
