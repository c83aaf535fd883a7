import { describe, expect, it } from 'vitest';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import * as tfl from '@tensorflow/tfjs-layers';
import { FsStore } from '@mnist/storage';
import { copyCheckpoint, listCheckpoints, loadLatestCheckpoint, saveCheckpoint } from './index.js';

function tinyModel(): tfl.LayersModel {
  const m = tfl.sequential();
  m.add(tfl.layers.dense({ units: 3, inputShape: [4], kernelInitializer: 'glorotUniform' }));
  return m;
}

describe('checkpoints', () => {
  it('round-trips model weights and optimizer state; incomplete folders are invisible', async () => {
    const store = new FsStore(mkdtempSync(join(tmpdir(), 'ckpt-')));
    const model = tinyModel();
    const slot = { name: 'dense/kernel/momentum', tensor: tf.tensor([[1, 2, 3]]) };
    await saveCheckpoint(store, { epoch: 1, step: 10, model, optimizerWeights: [slot], meta: { model: 'tiny' } });
    // A crash while writing epoch 2: files but no manifest.
    await store.put('checkpoints/epoch-002/model.json', '{}');
    expect(await listCheckpoints(store)).toEqual([1]);

    const loaded = (await loadLatestCheckpoint(store))!;
    expect(loaded.manifest).toMatchObject({ epoch: 1, step: 10, meta: { model: 'tiny' } });
    const restored = await tfl.loadLayersModel(loaded.modelHandler);
    const x = tf.randomNormal([2, 4], 0, 1, 'float32', 7);
    expect(Array.from((restored.predict(x) as tf.Tensor).dataSync())).toEqual(
      Array.from((model.predict(x) as tf.Tensor).dataSync()),
    );
    expect(loaded.optimizerWeights.map((w) => w.name)).toEqual(['dense/kernel/momentum']);
    expect(Array.from(loaded.optimizerWeights[0]!.tensor.dataSync())).toEqual([1, 2, 3]);
  });

  it('copies a complete checkpoint to another store, and refuses an incomplete one', async () => {
    const from = new FsStore(mkdtempSync(join(tmpdir(), 'ckpt-')));
    const to = new FsStore(mkdtempSync(join(tmpdir(), 'ckpt-')));
    const slot = { name: 'dense/kernel/momentum', tensor: tf.tensor([[1, 2, 3]]) };
    await saveCheckpoint(from, { epoch: 3, step: 30, model: tinyModel(), optimizerWeights: [slot] });
    await copyCheckpoint(from, to, 3);
    expect(await to.list()).toEqual(await from.list());
    expect((await loadLatestCheckpoint(to))!.manifest).toMatchObject({ epoch: 3, step: 30 });
    await from.put('checkpoints/epoch-004/model.json', '{}');
    await expect(copyCheckpoint(from, to, 4)).rejects.toThrow('not a complete checkpoint');
  });

  it('has no checkpoint in an empty store', async () => {
    const store = new FsStore(mkdtempSync(join(tmpdir(), 'ckpt-')));
    expect(await loadLatestCheckpoint(store)).toBeUndefined();
  });
});
