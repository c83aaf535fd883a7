import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { artifactKeys } from '@mnist/protocol';
import { type ArtifactStore } from '@mnist/storage';
import { storeIOHandler } from '@mnist/checkpoint';

/** Loads the model of a job's checkpoint straight from S3, as any user of the artifacts would. */
export function loadCheckpointModel(jobStore: ArtifactStore, epoch: number): Promise<tfl.LayersModel> {
  return tfl.loadLayersModel(storeIOHandler(jobStore, artifactKeys.checkpoint(epoch)));
}

/** Largest absolute difference between two models' weights (same architecture). */
export function maxWeightDiff(a: tfl.LayersModel, b: tfl.LayersModel): number {
  const wa = a.getWeights();
  const wb = b.getWeights();
  if (wa.length !== wb.length) throw new Error(`models have ${wa.length} and ${wb.length} weight tensors`);
  let max = 0;
  wa.forEach((t, i) => {
    const x = t.dataSync();
    const y = wb[i]!.dataSync();
    for (let j = 0; j < x.length; j++) max = Math.max(max, Math.abs(x[j]! - y[j]!));
  });
  return max;
}

export { tf };
