import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { artifactKeys, parseMetricsJsonl, toMetricsJsonl, type EpochRecord, type JobSpec } from '@mnist/protocol';
import { getModel } from '@mnist/models';
import type { Dataset } from '@mnist/data';
import { getText, putJson, type ArtifactStore } from '@mnist/storage';
import {
  loadCheckpoint,
  loadLatestCheckpoint,
  saveCheckpoint,
  type CheckpointManifest,
  type LoadedCheckpoint,
  type NamedTensor,
} from '@mnist/checkpoint';
import { LocalCollective, type Collective } from './collective.js';
import { createOptimizer, disposeOptimizer } from './optimizer.js';
import { OUTER_STATE_PREFIX } from './replica-sync.js';
import type { Elastic } from './regroup.js';
import { runEpochs, type StepProgress } from './train-loop.js';

export interface RunJobOptions {
  spec: JobSpec;
  /** The run's folder (local) or the attempt's prefix (S3): spec.json, metrics.jsonl, checkpoints/. */
  store: ArtifactStore;
  data: Dataset;
  backend: string;
  collective?: Collective;
  /** Continue from the newest complete checkpoint in the store, if there is one. */
  resume?: boolean;
  /**
   * Continue from this checkpoint of another store (an earlier cluster attempt's folder),
   * with the records of that store's metrics.jsonl up to its epoch. Wins over `resume`.
   */
  resumeFrom?: { store: ArtifactStore; epoch: number };
  onStep?: (p: StepProgress) => void;
  /**
   * The leader (rank 0), after the epoch's record is in metrics.jsonl and its checkpoint (if
   * due) is saved. `replay`: a rank that just became the leader hands its last epoch again,
   * which its lost leader may or may not have recorded (its checkpoint is written only if
   * the group took no step since and the lost leader wrote none of it).
   */
  onEpoch?: (record: EpochRecord, o: { replay: boolean }) => void | Promise<void>;
  /** Called once the starting point is known: fresh, or resumed with the records the checkpoint backs. */
  onStart?: (info: { startEpoch: number; resumedFrom?: CheckpointManifest; records: readonly EpochRecord[] }) => void;
  signal?: AbortSignal;
  /** A replica range: the group may change while it trains; `joinAtEpoch` starts a rank that joins a running group. */
  elastic?: Elastic;
}

export interface RunJobResult {
  records: EpochRecord[];
  resumedFromEpoch: number;
  /** The caller's to dispose. */
  model: tfl.LayersModel;
}

const disposeNamed = (ts: NamedTensor[]) => tf.dispose(ts.map((t) => t.tensor));
/** Local SGD's outer state rides in the checkpoint's optimizer file under its own prefix. */
const isOuter = (w: { name: string }) => w.name.startsWith(OUTER_STATE_PREFIX);

/**
 * One training run against an artifact store, the same locally and in the cluster:
 * start fresh or resume from a complete checkpoint, train, and keep metrics.jsonl and
 * the checkpoints up to date after each epoch. metrics.jsonl is rewritten whole from
 * records that a checkpoint backs, so every epoch appears once. Whatever happens, the
 * tensors it made are gone when it returns or throws, except the returned model.
 */
export async function runJob(o: RunJobOptions): Promise<RunJobResult> {
  const { spec, store } = o;
  const collective = o.collective ?? new LocalCollective();
  const isRankZero = collective.rank === 0;
  const source = o.resumeFrom?.store ?? store;
  const checkpoint: LoadedCheckpoint | undefined = o.resumeFrom
    ? await loadCheckpoint(o.resumeFrom.store, o.resumeFrom.epoch)
    : o.resume
      ? await loadLatestCheckpoint(store)
      : undefined;

  let model: tfl.LayersModel | undefined;
  const optimizer = createOptimizer(spec.optimizer);
  const syncState = checkpoint?.optimizerWeights.filter(isOuter) ?? [];
  try {
    let records: EpochRecord[] = [];
    if (checkpoint) {
      // Rebuild from the checkpoint itself: topology, weights (incl. batch-norm statistics), optimizer slots.
      try {
        model = await tfl.loadLayersModel(checkpoint.modelHandler);
        await optimizer.setWeights(checkpoint.optimizerWeights.filter((w) => !isOuter(w)));
      } finally {
        disposeNamed(checkpoint.optimizerWeights.filter((w) => !isOuter(w))); // the optimizer holds its own variables
      }
      // Epochs after the checkpoint will be trained again: drop their records.
      records = await recordsUpTo(source, checkpoint.manifest.epoch);
    } else {
      model = getModel(spec.model).build(spec.seed);
      if (isRankZero) {
        await putJson(store, artifactKeys.spec, spec);
        await store.put(artifactKeys.metrics, '', 'application/x-ndjson');
      } else if (o.elastic?.joinAtEpoch) {
        // A rank joining a running group keeps the records so far too (it may lead the group later).
        records = await recordsUpTo(store, o.elastic.joinAtEpoch - 1);
      }
    }
    // A rank joining a running group starts where the group is; its state comes from the group.
    const startEpoch = o.elastic?.joinAtEpoch ?? (checkpoint?.manifest.epoch ?? 0) + 1;
    o.onStart?.({ startEpoch, resumedFrom: checkpoint?.manifest, records });
    if (isRankZero && checkpoint)
      await store.put(artifactKeys.metrics, toMetricsJsonl(records), 'application/x-ndjson');

    const trained = model;
    await runEpochs({
      spec,
      data: o.data,
      model: trained,
      optimizer,
      collective,
      backend: o.backend,
      startEpoch,
      startStep: checkpoint?.manifest.step ?? 0,
      syncState,
      onStep: o.onStep,
      signal: o.signal,
      elastic: o.elastic,
      onEpoch: async (record, { step, syncState: outer, lead, replay }) => {
        // Every rank keeps the records: one that becomes the leader rewrites metrics.jsonl whole.
        if (!replay) records.push(record);
        if (!lead) return;
        // Metrics before the checkpoint: a crash in between re-trains the epoch rather than losing its record.
        await store.put(artifactKeys.metrics, toMetricsJsonl(records), 'application/x-ndjson');
        const due = record.epoch % spec.checkpointEvery === 0 || record.epoch === spec.epochs;
        // A replayed epoch's checkpoint only where its lost leader wrote none of it: a cluster
        // attempt's folder is append-only, and a complete or partial one stays as it is.
        const missing = async () => (await store.list(artifactKeys.checkpoint(record.epoch))).length === 0;
        if (due && (!replay || (replay.checkpoint && (await missing())))) {
          const weights = await optimizer.getWeights();
          try {
            await saveCheckpoint(store, {
              epoch: record.epoch,
              step,
              model: trained,
              optimizerWeights: [...weights, ...outer],
              meta: { model: spec.model, backend: o.backend, spec },
            });
          } finally {
            // getWeights makes a fresh iteration-count scalar; the rest are the optimizer's own variables.
            disposeNamed(weights.filter((w) => !(w.tensor instanceof tf.Variable)));
          }
        }
        await o.onEpoch?.(record, { replay: replay !== undefined });
      },
    });
    return { records, resumedFromEpoch: startEpoch - 1, model: trained };
  } catch (err) {
    model?.dispose();
    throw err;
  } finally {
    disposeOptimizer(optimizer);
    disposeNamed(syncState);
  }
}

/** The records of `store`'s metrics.jsonl up to `epoch`. */
async function recordsUpTo(store: ArtifactStore, epoch: number): Promise<EpochRecord[]> {
  const text = (await getText(store, artifactKeys.metrics)) ?? '';
  return parseMetricsJsonl(text, `${store.location}${artifactKeys.metrics}`).filter((r) => r.epoch <= epoch);
}
