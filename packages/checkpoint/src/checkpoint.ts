import type * as tf from '@tensorflow/tfjs-core';
import { artifactKeys, checkpointEpoch } from '@mnist/protocol';
import { getJson, putJson, StorageError, type ArtifactStore } from '@mnist/storage';
import { decodeNamedTensors, encodeNamedTensors, storeIOHandler, type NamedTensor } from './tfjs-io.js';

const MANIFEST = 'checkpoint.json';
const OPTIMIZER_JSON = 'optimizer.json';
const OPTIMIZER_BIN = 'optimizer.bin';

/** Written last: a checkpoint folder without it is incomplete and ignored. */
export interface CheckpointManifest {
  epoch: number;
  /** Optimizer steps taken so far: a resumed run continues its step count (progress, logs) from here. */
  step: number;
  createdAt: string;
  files: string[];
  /** Whatever the writer needs to rebuild the run: model name, spec, backend... */
  meta: Record<string, unknown>;
}

export interface SavableModel {
  save(handler: tf.io.IOHandler): Promise<unknown>;
}

export interface CheckpointInput {
  epoch: number;
  step: number;
  model: SavableModel;
  optimizerWeights: NamedTensor[];
  meta?: Record<string, unknown>;
}

export async function saveCheckpoint(store: ArtifactStore, input: CheckpointInput): Promise<CheckpointManifest> {
  const dir = artifactKeys.checkpoint(input.epoch);
  // A local run resumed from an older checkpoint finds this epoch's earlier parts: start
  // clean. A cluster attempt writes each epoch once, into its own folder, so it never
  // deletes (its store refuses to).
  if ((await store.list(dir)).length > 0) await store.deletePrefix(dir);
  await input.model.save(storeIOHandler(store, dir));
  const opt = await encodeNamedTensors(input.optimizerWeights);
  await store.put(dir + OPTIMIZER_BIN, opt.data);
  await putJson(store, dir + OPTIMIZER_JSON, { specs: opt.specs });
  const manifest: CheckpointManifest = {
    epoch: input.epoch,
    step: input.step,
    createdAt: new Date().toISOString(),
    files: ['model.json', 'weights.bin', OPTIMIZER_JSON, OPTIMIZER_BIN],
    meta: input.meta ?? {},
  };
  await putJson(store, dir + MANIFEST, manifest);
  return manifest;
}

/**
 * Copies epoch `epoch`'s complete checkpoint from one store to another, manifest last, so
 * the copy is complete only once every part is there. Throws when the source is incomplete.
 */
export async function copyCheckpoint(from: ArtifactStore, to: ArtifactStore, epoch: number): Promise<void> {
  const dir = artifactKeys.checkpoint(epoch);
  const keys = await from.list(dir);
  if (!keys.includes(dir + MANIFEST)) throw new StorageError(`${from.location}${dir}: not a complete checkpoint`);
  for (const key of [...keys.filter((k) => k !== dir + MANIFEST), dir + MANIFEST]) {
    const bytes = await from.get(key);
    if (!bytes) throw new StorageError(`${from.location}${key}: vanished while copying`);
    await to.put(key, bytes, key.endsWith('.json') ? 'application/json' : 'application/octet-stream');
  }
}

/** Epochs that have a complete checkpoint, ascending. */
export async function listCheckpoints(store: ArtifactStore): Promise<number[]> {
  const keys = await store.list(artifactKeys.checkpointsDir);
  const epochs = keys
    .filter((k) => k.endsWith('/' + MANIFEST))
    .map((k) => checkpointEpoch(k.slice(0, -MANIFEST.length)))
    .filter((e): e is number => e !== undefined);
  return epochs.sort((a, b) => a - b);
}

export interface LoadedCheckpoint {
  manifest: CheckpointManifest;
  /** Pass to tf.loadLayersModel. */
  modelHandler: tf.io.IOHandler;
  optimizerWeights: NamedTensor[];
}

export async function loadCheckpoint(store: ArtifactStore, epoch: number): Promise<LoadedCheckpoint> {
  const dir = artifactKeys.checkpoint(epoch);
  const manifest = await getJson<CheckpointManifest>(store, dir + MANIFEST);
  if (!manifest) throw new StorageError(`${store.location}${dir}: not a complete checkpoint`);
  const opt = await getJson<{ specs: tf.io.WeightsManifestEntry[] }>(store, dir + OPTIMIZER_JSON);
  const optData = await store.get(dir + OPTIMIZER_BIN);
  if (!opt || !optData) throw new StorageError(`${store.location}${dir}: optimizer state missing`);
  return {
    manifest,
    modelHandler: storeIOHandler(store, dir),
    optimizerWeights: decodeNamedTensors(opt.specs, optData),
  };
}

/** The newest complete checkpoint, or undefined when there is none. */
export async function loadLatestCheckpoint(store: ArtifactStore): Promise<LoadedCheckpoint | undefined> {
  const epochs = await listCheckpoints(store);
  const last = epochs.at(-1);
  return last === undefined ? undefined : loadCheckpoint(store, last);
}
