import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { BACKEND_CHOICES, isBackendChoice, type BackendChoice } from '@mnist/protocol';

export { BACKEND_CHOICES, isBackendChoice, type BackendChoice };

export interface BackendAttempt {
  name: Exclude<BackendChoice, 'auto'>;
  reason: string;
}

export interface SelectedBackend {
  /** The tfjs backend now active ('tensorflow', 'onednn', 'wasm' or 'cpu'). */
  name: string;
  /** Backends tried first that were unavailable, and why (for the start-up log). */
  skipped: BackendAttempt[];
  /** What the chosen backend runs and why, where it has a choice (the addon: oneDNN or portable kernels). */
  detail?: string;
}

export class BackendUnavailableError extends Error {
  override readonly name = 'BackendUnavailableError';
}

type Setup = () => Promise<{ ok: true; detail?: string } | { ok: false; reason: string }>;

/** tfjs-node(-gpu) registers 'tensorflow' on import; both are optional (their install downloads libtensorflow). */
const setupTensorflow: Setup = async () => {
  const reasons: string[] = [];
  for (const pkg of ['@tensorflow/tfjs-node-gpu', '@tensorflow/tfjs-node']) {
    try {
      await import(/* @vite-ignore */ pkg);
      if (tf.findBackend('tensorflow')) return { ok: true };
      reasons.push(`${pkg} loaded but registered no 'tensorflow' backend`);
    } catch (err) {
      // Not found as such (not one of its own imports failing): plainly not installed.
      const missing =
        (err as NodeJS.ErrnoException).code === 'ERR_MODULE_NOT_FOUND' && (err as Error).message.includes(`'${pkg}'`);
      reasons.push(
        missing ? `${pkg} not installed` : `${pkg} failed to load: ${(err as Error).message.split('\n')[0]}`,
      );
    }
  }
  return { ok: false, reason: reasons.join('; ') };
};

const setupOnednn: Setup = async () => {
  const onednn = await import('@mnist/tfjs-backend-onednn');
  const status = onednn.onednnAvailability();
  if (!status.available) return { ok: false, reason: status.reason };
  // Which kernels the addon runs (oneDNN's, or its own portable ones) and why,
  // e.g. "portable kernels: TFJS_ONEDNN_PORTABLE=1".
  const detail = status.why;
  return onednn.registerOnednnBackend() ? { ok: true, detail } : { ok: false, reason: 'registration failed' };
};

const setupWasm: Setup = async () => {
  const { setupWasmBackend } = await import('./wasm.js');
  return setupWasmBackend();
};

const SETUPS: Record<BackendAttempt['name'], Setup> = {
  tensorflow: setupTensorflow,
  onednn: setupOnednn,
  wasm: setupWasm,
  cpu: async () => ({ ok: true }),
};

/** `auto` tries these in order: the fastest that works wins; pure-JS cpu is the fallback. */
const AUTO_ORDER: BackendAttempt['name'][] = ['tensorflow', 'onednn', 'wasm', 'cpu'];

/**
 * Makes the chosen backend active (MNIST_BACKEND / --backend). An explicit choice that is
 * unavailable is an error; `auto` falls through to the next. Production mode is enabled:
 * it skips per-op NaN checks and the tfjs-node advertisement.
 */
export async function selectBackend(choice: BackendChoice = 'auto'): Promise<SelectedBackend> {
  tf.enableProdMode();
  const order = choice === 'auto' ? AUTO_ORDER : [choice];
  const skipped: BackendAttempt[] = [];
  for (const name of order) {
    let result: Awaited<ReturnType<Setup>>;
    try {
      result = await SETUPS[name]();
    } catch (err) {
      result = { ok: false, reason: (err as Error).message };
    }
    if (result.ok && (await tf.setBackend(name))) {
      await tf.ready();
      return { name: tf.getBackend(), skipped, ...(result.detail && { detail: result.detail }) };
    }
    skipped.push({ name, reason: result.ok ? `tf.setBackend('${name}') failed` : result.reason });
  }
  const why = skipped.map((s) => `${s.name}: ${s.reason}`).join('; ');
  throw new BackendUnavailableError(`backend '${choice}' is not available here (${why})`);
}
