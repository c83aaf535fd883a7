import * as tfl from '@tensorflow/tfjs-layers';
import { artifactKeys, parseMetricsJsonl, toMetricsJsonl, type EpochRecord, type JobSpec } from '@mnist/protocol';
import { getModel } from '@mnist/models';
import type { Dataset } from '@mnist/data';
import {
  getText,
  loadLatestCheckpoint,
  putJson,
  saveCheckpoint,
  type ArtifactStore,
  type CheckpointManifest,
} from '@mnist/storage';
import { LocalCollective, type Collective } from './collective.js';
import { createOptimizer } from './optimizer.js';
import type { NamedTensor } from './replica-sync.js';
import { OUTER_STATE_PREFIX } from './replica-sync.js';
import { runEpochs, type StepProgress } from './train-loop.js';

export interface RunJobOptions {
  spec: JobSpec;
  /** The run's folder (local) or job prefix (S3): spec.json, metrics.jsonl, checkpoints/. */
  store: ArtifactStore;
  data: Dataset;
  backend: string;
  collective?: Collective;
  /** Continue from the newest complete checkpoint in the store, if there is one. */
  resume?: boolean;
  onStep?: (p: StepProgress) => void;
  /** Rank 0, after the epoch's record is in metrics.jsonl and its checkpoint (if due) is saved. */
  onEpoch?: (record: EpochRecord) => void | Promise<void>;
  /** Called once the starting point is known: fresh, or resumed with the records the checkpoint backs. */
  onStart?: (info: { startEpoch: number; resumedFrom?: CheckpointManifest; records: readonly EpochRecord[] }) => void;
  signal?: AbortSignal;
}

export interface RunJobResult {
  records: EpochRecord[];
  resumedFromEpoch: number;
  model: tfl.LayersModel;
}

/**
 * One training run against an artifact store, the same locally and in the cluster:
 * start fresh or resume from the last complete checkpoint, train, and keep
 * metrics.jsonl and the checkpoints up to date after each epoch. metrics.jsonl is
 * rewritten whole from records that a checkpoint backs, so every epoch appears once.
 */
export async function runJob(o: RunJobOptions): Promise<RunJobResult> {
  const { spec, store } = o;
  const collective = o.collective ?? new LocalCollective();
  const isRankZero = collective.rank === 0;
  const checkpoint = o.resume ? await loadLatestCheckpoint(store) : undefined;

  let model: tfl.LayersModel;
  let records: EpochRecord[] = [];
  let syncState: NamedTensor[] | undefined;
  const optimizer = createOptimizer(spec.optimizer);
  if (checkpoint) {
    // Rebuild from the checkpoint itself: topology, weights (incl. batch-norm statistics), optimizer slots.
    model = await tfl.loadLayersModel(checkpoint.modelHandler);
    // Local SGD's outer state rides in the optimizer file under its own prefix.
    const isOuter = (w: { name: string }) => w.name.startsWith(OUTER_STATE_PREFIX);
    await optimizer.setWeights(checkpoint.optimizerWeights.filter((w) => !isOuter(w)));
    syncState = checkpoint.optimizerWeights.filter(isOuter);
    const text = (await getText(store, artifactKeys.metrics)) ?? '';
    // Epochs after the checkpoint will be trained again: drop their records.
    records = parseMetricsJsonl(text, `${store.location}${artifactKeys.metrics}`).filter(
      (r) => r.epoch <= checkpoint.manifest.epoch,
    );
  } else {
    model = getModel(spec.model).build(spec.seed);
    if (isRankZero) {
      await putJson(store, artifactKeys.spec, spec);
      await store.put(artifactKeys.metrics, '', 'application/x-ndjson');
    }
  }
  const startEpoch = (checkpoint?.manifest.epoch ?? 0) + 1;
  o.onStart?.({ startEpoch, resumedFrom: checkpoint?.manifest, records });
  if (isRankZero && checkpoint) await store.put(artifactKeys.metrics, toMetricsJsonl(records), 'application/x-ndjson');

  try {
    await runEpochs({
      spec,
      data: o.data,
      model,
      optimizer,
      collective,
      backend: o.backend,
      startEpoch,
      startStep: checkpoint?.manifest.step ?? 0,
      syncState,
      onStep: o.onStep,
      signal: o.signal,
      onEpoch: async (record, { step, syncState: outer }) => {
        records.push(record);
        // Metrics before the checkpoint: a crash in between re-trains the epoch rather than losing its record.
        await store.put(artifactKeys.metrics, toMetricsJsonl(records), 'application/x-ndjson');
        if (record.epoch % spec.checkpointEvery === 0 || record.epoch === spec.epochs) {
          await saveCheckpoint(store, {
            epoch: record.epoch,
            step,
            model,
            optimizerWeights: [...(await optimizer.getWeights()), ...outer],
            meta: { model: spec.model, backend: o.backend, spec },
          });
        }
        await o.onEpoch?.(record);
      },
    });
  } finally {
    optimizer.dispose();
  }
  return { records, resumedFromEpoch: startEpoch - 1, model };
}
