import { dirname } from 'node:path';
import { createRequire } from 'node:module';
import * as tf from '@tensorflow/tfjs-core';
import { createConv2dBackpropFilterKernel, type Conv2dBackpropFilterImpl } from './wasm-conv2d-backprop-filter.js';

export type WasmSetupResult = { ok: true; flavor: string } | { ok: false; reason: string };

let setup: Promise<WasmSetupResult> | undefined;

/**
 * Makes the tfjs `wasm` backend usable in Node: loads the package, points it at its .wasm
 * binaries, initialises it and adds the Conv2DBackpropFilter kernel it lacks. It does not
 * select the backend; the caller does (`tf.setBackend('wasm')`). Safe to call repeatedly.
 *
 * flavor is 'simd' (XNNPACK's SIMD kernels; any Node 20 has WebAssembly SIMD) or 'plain'.
 * The threaded build is never used: tfjs reports no thread support under Node
 * (tensorflow/tfjs#3830), and forcing it fails in Node 20 because Emscripten starts its
 * pthread workers from blob: URLs, which worker_threads rejects (ERR_WORKER_PATH).
 */
export function setupWasmBackend(): Promise<WasmSetupResult> {
  setup ??= initialise();
  return setup;
}

async function initialise(): Promise<WasmSetupResult> {
  try {
    // Importing the package registers the backend (priority 2, above cpu): only on request.
    const wasm = await import('@tensorflow/tfjs-backend-wasm');
    const engine = tf.engine();
    if (engine.registry['wasm'] === undefined) {
      // The binaries sit next to the package's entry point; say so explicitly so that it
      // does not depend on how the entry point was resolved (Node, vitest, bundlers).
      const entry = createRequire(import.meta.url).resolve('@tensorflow/tfjs-backend-wasm');
      wasm.setWasmPaths(`${dirname(entry)}/`);
      tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', false);
      const factory = tf.findBackendFactory('wasm');
      if (factory === null) return { ok: false, reason: 'the wasm backend did not register' };
      // Initialise without selecting: setBackend would switch the whole process over.
      engine.registry['wasm'] = await factory();
    }
    registerConv2dBackpropFilter();
    const simd = await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT');
    return { ok: true, flavor: simd ? 'simd' : 'plain' };
  } catch (err) {
    return { ok: false, reason: `wasm backend failed to initialise: ${describe(err)}` };
  }
}

/**
 * Registers our Conv2DBackpropFilter for 'wasm' unless one is there already (a later tfjs
 * may ship its own). `replace` swaps implementations, for tests and benchmarks.
 */
export function registerConv2dBackpropFilter(
  options: { impl?: Conv2dBackpropFilterImpl; replace?: boolean } = {},
): void {
  const existing = tf.getKernel(tf.Conv2DBackpropFilter, 'wasm');
  if (existing !== undefined) {
    if (!options.replace) return;
    tf.unregisterKernel(tf.Conv2DBackpropFilter, 'wasm');
  }
  tf.registerKernel(createConv2dBackpropFilterKernel({ impl: options.impl }));
}

function describe(err: unknown): string {
  if (err instanceof Error) return err.message;
  // Emscripten's abort path rejects with a plain { message } object.
  if (typeof err === 'object' && err !== null && 'message' in err) return String(err.message);
  return String(err);
}
