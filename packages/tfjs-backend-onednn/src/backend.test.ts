import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ONEDNN_BACKEND_NAME, onednnAvailability, OnednnBackend, registerOnednnBackend } from './index.js';
import { ADDON_PATHS, loadAddon, loadBestAddon, native, packParams } from './native.js';
import { describeOnednn } from '../test/compare.js';

describe('availability', () => {
  it('reports a missing addon as unavailable, with the reason', () => {
    const dir = mkdtempSync(join(tmpdir(), 'onednn-'));
    const missing = loadAddon(join(dir, 'nope.node'), 'test', join(dir, 'no-note.txt'));
    expect(missing.ok).toBe(false);
    if (!missing.ok) expect(missing.reason).toMatch(/not built/);

    writeFileSync(join(dir, 'unavailable.txt'), 'oneDNN headers not found (dnnl.hpp); install libdnnl-dev\n');
    const noted = loadAddon(join(dir, 'nope.node'), 'test', join(dir, 'unavailable.txt'));
    expect(noted).toEqual({
      ok: false,
      reason: 'the native addon was not built: oneDNN headers not found (dnnl.hpp); install libdnnl-dev',
    });
  });

  it('reports an addon that does not load', () => {
    const dir = mkdtempSync(join(tmpdir(), 'onednn-'));
    writeFileSync(join(dir, 'broken.node'), 'not a shared object');
    const broken = loadAddon(join(dir, 'broken.node'), 'test');
    expect(broken.ok).toBe(false);
    if (!broken.ok) expect(broken.reason).toMatch(/could not load/);
  });

  it('onednnAvailability() has a version or a reason', () => {
    const a = onednnAvailability();
    if (a.available) expect(a.version).toMatch(a.kernels === 'onednn' ? /^\d+\.\d+\.\d+$/ : /^portable$/);
    else expect(a.reason.length).toBeGreaterThan(0);
  });

  it('falls back to the portable build when the oneDNN build does not load, and says why', () => {
    const dir = mkdtempSync(join(tmpdir(), 'onednn-'));
    writeFileSync(join(dir, 'broken.node'), 'not a shared object');
    const paths = { onednn: join(dir, 'broken.node'), portable: ADDON_PATHS.portable };
    const loaded = loadBestAddon({}, paths);
    if (!existsSync(ADDON_PATHS.portable)) {
      expect(loaded.ok).toBe(false);
      return;
    }
    expect(loaded.ok && loaded.addon.kernels()).toBe('portable');
    if (loaded.ok)
      expect(loaded.why).toMatch(/^portable kernels: the oneDNN build is unavailable \(could not load .*broken\.node/);
    const forced = loadBestAddon({ TFJS_ONEDNN_PORTABLE: '1' });
    expect(forced.ok && forced.why).toBe('portable kernels: TFJS_ONEDNN_PORTABLE=1');
  });

  // CI runs the suite once per build with TFJS_ONEDNN_EXPECT=onednn / =portable, so a
  // build that silently fell back fails there instead of testing the other one twice.
  it.runIf(process.env.TFJS_ONEDNN_EXPECT)('loaded the build CI expects ($TFJS_ONEDNN_EXPECT)', () => {
    const a = onednnAvailability();
    expect(a.available ? a.kernels : a.reason).toBe(process.env.TFJS_ONEDNN_EXPECT);
  });
});

describeOnednn('registerOnednnBackend', () => {
  it('is idempotent and does not switch the active backend', async () => {
    await tf.setBackend('cpu');
    expect(registerOnednnBackend()).toBe(true);
    expect(registerOnednnBackend()).toBe(true);
    expect(tf.getBackend()).toBe('cpu');
    expect(tf.findBackendFactory(ONEDNN_BACKEND_NAME)).not.toBeNull();
  });

  it('runs every cpu kernel too (the ones not replaced)', async () => {
    await tf.setBackend(ONEDNN_BACKEND_NAME);
    expect(tf.backend()).toBeInstanceOf(OnednnBackend);
    for (const k of tf.getKernelsForBackend('cpu'))
      expect(tf.getKernel(k.kernelName, ONEDNN_BACKEND_NAME)).toBeDefined();
    const t = tf.tidy(() => tf.cumsum(tf.tensor1d([1, 2, 3])));
    expect(Array.from(t.dataSync())).toEqual([1, 3, 6]);
    t.dispose();
    await tf.setBackend('cpu');
  });
});

describeOnednn('the addon', () => {
  it('turns bad arguments into JavaScript exceptions', () => {
    const loaded = native();
    if (!loaded.ok) throw new Error(loaded.reason);
    const { addon } = loaded;
    const dims = packParams([1, 4, 4, 1, 4, 4, 2, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1]);
    expect(() =>
      addon.conv2d(new Float32Array(15), new Float32Array(18), null, new Float32Array(32), dims, 0, 0),
    ).toThrow(/x: wrong length/);
    expect(() => addon.unary(0, new Float32Array(4), new Int32Array(4) as unknown as Float32Array, 0)).toThrow(
      /Float32Array/,
    );
    expect(() => addon.reduce(99, new Float32Array(4), 1, 4, 1, new Float32Array(1))).toThrow(/unknown reduce op/);
  });
});
