import * as tf from '@tensorflow/tfjs-core';
import { getJson, putJson, StorageError, type ArtifactStore } from '@mnist/storage';

/** tfjs-core uses this shape for optimizer slots but does not export it. */
export interface NamedTensor {
  name: string;
  tensor: tf.Tensor;
}

const MODEL_JSON = 'model.json';
const WEIGHTS_BIN = 'weights.bin';

interface ModelJson {
  modelTopology: object;
  format?: string;
  generatedBy?: string;
  convertedBy?: string | null;
  trainingConfig?: tf.io.TrainingConfig;
  weightsManifest: tf.io.WeightsManifestConfig;
}

/**
 * A tfjs IOHandler that keeps the standard `model.json` + `weights.bin` pair under a
 * folder key of an ArtifactStore, so `model.save(h)` and `tf.loadLayersModel(h)`
 * work the same on disk and in S3.
 */
export function storeIOHandler(store: ArtifactStore, dir: string): tf.io.IOHandler {
  return {
    async save(artifacts: tf.io.ModelArtifacts): Promise<tf.io.SaveResult> {
      if (artifacts.modelTopology instanceof ArrayBuffer || !artifacts.modelTopology) {
        throw new StorageError('only JSON model topologies (tfjs-layers models) can be saved');
      }
      const weights = new Uint8Array(tf.io.CompositeArrayBuffer.join(artifacts.weightData ?? new ArrayBuffer(0)));
      await store.put(dir + WEIGHTS_BIN, weights);
      const json: ModelJson = {
        modelTopology: artifacts.modelTopology,
        format: artifacts.format,
        generatedBy: artifacts.generatedBy,
        convertedBy: artifacts.convertedBy ?? null,
        trainingConfig: artifacts.trainingConfig,
        weightsManifest: [{ paths: [`./${WEIGHTS_BIN}`], weights: artifacts.weightSpecs ?? [] }],
      };
      await putJson(store, dir + MODEL_JSON, json);
      return { modelArtifactsInfo: tf.io.getModelArtifactsInfoForJSON(artifacts) };
    },

    async load(): Promise<tf.io.ModelArtifacts> {
      const json = await getJson<ModelJson>(store, dir + MODEL_JSON);
      const weights = await store.get(dir + WEIGHTS_BIN);
      if (!json || !weights) throw new StorageError(`${store.location}${dir}: no model.json/weights.bin`);
      const weightSpecs = json.weightsManifest.flatMap((group) => group.weights);
      return {
        modelTopology: json.modelTopology,
        format: json.format,
        generatedBy: json.generatedBy,
        convertedBy: json.convertedBy,
        trainingConfig: json.trainingConfig,
        weightSpecs,
        weightData: weights.slice().buffer,
      };
    },
  };
}

/** Named tensors (optimizer slots) as a JSON manifest plus one binary blob. */
export async function encodeNamedTensors(
  tensors: NamedTensor[],
): Promise<{ specs: tf.io.WeightsManifestEntry[]; data: Uint8Array }> {
  const { data, specs } = await tf.io.encodeWeights(tensors);
  return { specs, data: new Uint8Array(tf.io.CompositeArrayBuffer.join(data)) };
}

export function decodeNamedTensors(specs: tf.io.WeightsManifestEntry[], data: Uint8Array): NamedTensor[] {
  const map = tf.io.decodeWeights(data.slice().buffer, specs);
  // decodeWeights returns a map; keep the saved order, which optimizers rely on.
  return specs.map((s) => ({ name: s.name, tensor: map[s.name]! }));
}
