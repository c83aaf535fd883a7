// Runs torch_bench.py (the seed's recipe in PyTorch) for the benches that compare with
// it: the root `npm run bench` and the onednn addon's kernel harness.
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const HERE = join(dirname(fileURLToPath(import.meta.url)), '..');
const SCRIPT = join(HERE, 'torch_bench.py');
const DDP_SCRIPT = join(HERE, 'torch_ddp.py');

export interface TorchModelResult {
  trainImagesPerSec: number;
  evalImagesPerSec: number;
  [field: string]: unknown;
}

export type TorchBenchResult =
  { models: Record<string, TorchModelResult>; [field: string]: unknown } | { error: string };

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
  return runScript<TorchBenchResult>(SCRIPT, python, args, unset);
}

export type TorchDdpResult =
  | { world: number; globalBatch: number; perRankBatch: number; imagesPerSec: number; imagesPerSecByEpoch: number[] }
  | { error: string };

/** One run of torch_ddp.py (DDP over gloo, one thread per rank): the scaling yardstick of bench:cluster. */
export function runTorchDdp(python: string, args: string[], unset: readonly string[] = []): TorchDdpResult {
  return runScript<TorchDdpResult>(DDP_SCRIPT, python, args, unset);
}

function runScript<T>(script: string, python: string, args: string[], unset: readonly string[]): T | { error: string } {
  const env = { ...process.env };
  for (const name of unset) delete env[name];
  const r = spawnSync(python, [script, ...args], { encoding: 'utf8', env });
  if (r.status !== 0) return { error: `${script.split('/').pop()} failed: ${r.stderr.trim().split('\n').pop()}` };
  return JSON.parse(r.stdout) as T;
}
