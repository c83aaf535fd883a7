import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { artifactKeys, parseMetricsJsonl, type EpochRecord } from '@mnist/protocol';
import { FsStore, getJson, getText, type ArtifactStore } from '@mnist/storage';
import { listCheckpoints } from '@mnist/checkpoint';
import { runJob, TrainingCancelledError, type Collective } from './index.js';
import { selectBackend } from '@mnist/backends';
import { mnistSubset, spec } from './test-helpers.js';

let backend: string;
beforeAll(async () => {
  backend = (await selectBackend('auto')).name;
}, 60_000);

const newStore = () => new FsStore(mkdtempSync(join(tmpdir(), 'run-job-')));
const metrics = async (store: ArtifactStore) => parseMetricsJsonl((await getText(store, artifactKeys.metrics)) ?? '');
// Timings differ between runs; everything learned must not.
const learned = (rs: EpochRecord[]) =>
  rs.map(({ epoch, trainLoss, trainAcc, testLoss, testAcc }) => ({ epoch, trainLoss, trainAcc, testLoss, testAcc }));

// lenet5-reg exercises every piece of state a resume must restore: weights, batch-norm
// statistics, momentum slots, the shuffle of the next epoch and the dropout masks.
const s = spec({ model: 'lenet5-reg', epochs: 3, trainLimit: 384, testLimit: 200 });

describe('runJob', () => {
  let reference: EpochRecord[];

  beforeAll(async () => {
    const store = newStore();
    const data = await mnistSubset(384, 200);
    const r = await runJob({ spec: s, store, data, backend });
    r.model.dispose();
    reference = await metrics(store);
  }, 120_000);

  it('writes spec.json, one metrics line per epoch and a checkpoint per epoch', async () => {
    expect(reference.map((r) => r.epoch)).toEqual([1, 2, 3]);
    expect(reference[2]!.trainLoss).toBeLessThan(reference[0]!.trainLoss);
  });

  it('an interrupted run resumed from its checkpoint writes the same metrics as an uninterrupted one', async () => {
    const store = newStore();
    const data = await mnistSubset(384, 200);
    const abort = new AbortController();
    await expect(
      runJob({
        spec: s,
        store,
        data,
        backend,
        signal: abort.signal,
        onEpoch: (r) => void (r.epoch === 2 && abort.abort()),
      }),
    ).rejects.toBeInstanceOf(TrainingCancelledError);
    expect((await metrics(store)).map((r) => r.epoch)).toEqual([1, 2]);

    let startEpoch = 0;
    const resumed = await runJob({
      spec: s,
      store,
      data,
      backend,
      resume: true,
      onStart: (i) => (startEpoch = i.startEpoch),
    });
    resumed.model.dispose();
    expect(startEpoch).toBe(3);
    expect(learned(await metrics(store))).toEqual(learned(reference));
    expect(await listCheckpoints(store)).toEqual([1, 2, 3]);
    expect(await getJson(store, artifactKeys.spec)).toEqual(s);
  }, 120_000);

  it("resumeFrom continues from another store's checkpoint and records, and writes only its own store", async () => {
    const earlier = newStore();
    const data = await mnistSubset(384, 200);
    (await runJob({ spec: { ...s, epochs: 2 }, store: earlier, data, backend })).model.dispose();
    const before = await earlier.list();
    const own = newStore();
    (await runJob({ spec: s, store: own, data, backend, resumeFrom: { store: earlier, epoch: 2 } })).model.dispose();
    expect(learned(await metrics(own))).toEqual(learned(reference));
    expect(await listCheckpoints(own)).toEqual([3]);
    expect(await earlier.list()).toEqual(before);
  }, 120_000);

  it('an epoch whose checkpoint never completed is trained again and recorded once', async () => {
    const store = newStore();
    const data = await mnistSubset(384, 200);
    const two = { ...s, epochs: 2 };
    (await runJob({ spec: two, store, data, backend })).model.dispose();
    // A crash after metrics.jsonl got epoch 2 but before its checkpoint manifest landed.
    await store.deletePrefix(`${artifactKeys.checkpoint(2)}checkpoint.json`);
    const resumed = await runJob({ spec: s, store, data, backend, resume: true });
    resumed.model.dispose();
    expect(resumed.resumedFromEpoch).toBe(1);
    expect(learned(await metrics(store))).toEqual(learned(reference));
  }, 120_000);

  it('resuming a finished run trains nothing and keeps its records', async () => {
    const store = newStore();
    const data = await mnistSubset(384, 200);
    const one = { ...s, epochs: 1 };
    (await runJob({ spec: one, store, data, backend })).model.dispose();
    const again = await runJob({ spec: one, store, data, backend, resume: true });
    again.model.dispose();
    expect(again.records.map((r) => r.epoch)).toEqual([1]);
    expect(learned(await metrics(store))).toEqual(learned(reference.slice(0, 1)));
  }, 60_000);
});

// A long-lived trainer runs attempt after attempt: one that fails or is cancelled must not
// leave its model, decoded optimizer state or loop accumulators behind.
describe('runJob leaves no tensors behind', () => {
  const small = spec({ model: 'mlp', epochs: 3, trainLimit: 256, testLimit: 100, batchSize: 64 });
  const data = () => mnistSubset(256, 100);

  /** A store holding a complete epoch-1 checkpoint, so runs below also decode one. */
  const withCheckpoint = async () => {
    const store = newStore();
    (await runJob({ spec: { ...small, epochs: 1 }, store, data: await data(), backend })).model.dispose();
    return store;
  };

  it('after a failed run (resumed, then an epoch fails to save)', async () => {
    const store = await withCheckpoint();
    const before = tf.memory().numTensors;
    const failing = runJob({
      spec: small,
      store,
      data: await data(),
      backend,
      resume: true,
      onEpoch: () => Promise.reject(new Error('disk full')),
    });
    await expect(failing).rejects.toThrow('disk full');
    expect(tf.memory().numTensors).toBe(before);
  }, 60_000);

  it('after a run that fails while resuming (checkpoint loaded, metrics.jsonl corrupt)', async () => {
    const store = await withCheckpoint();
    await store.put(artifactKeys.metrics, '{"epoch": "one"}\n');
    const before = tf.memory().numTensors;
    await expect(runJob({ spec: small, store, data: await data(), backend, resume: true })).rejects.toThrow(/metrics/);
    expect(tf.memory().numTensors).toBe(before);
  }, 60_000);

  it('after a finished run, once its model is disposed', async () => {
    const store = await withCheckpoint();
    const before = tf.memory().numTensors;
    (await runJob({ spec: small, store, data: await data(), backend, resume: true })).model.dispose();
    expect(tf.memory().numTensors).toBe(before);
  }, 60_000);

  // runEpochs frees its epoch accumulators (lossSum, correctSum) when it throws mid-epoch too.
  it('after a run cancelled mid-epoch', async () => {
    const store = await withCheckpoint();
    const before = tf.memory().numTensors;
    const abort = new AbortController();
    const cancelled = runJob({
      spec: small,
      store,
      data: await data(),
      backend,
      resume: true,
      signal: abort.signal,
      onStep: (p) => void (p.step === 2 && abort.abort()),
    });
    await expect(cancelled).rejects.toBeInstanceOf(TrainingCancelledError);
    expect(tf.memory().numTensors).toBe(before);
  }, 60_000);

  it('after a run whose all-reduce fails mid-epoch', async () => {
    const store = await withCheckpoint();
    const before = tf.memory().numTensors;
    let calls = 0;
    const broken: Collective = {
      rank: 0,
      worldSize: 2,
      allReduceSum: async (v) => (++calls === 3 ? Promise.reject(new Error('peer lost')) : v),
    };
    await expect(
      runJob({ spec: small, store, data: await data(), backend, resume: true, collective: broken }),
    ).rejects.toThrow('peer lost');
    expect(tf.memory().numTensors).toBe(before);
  }, 60_000);
});
