import type * as tfl from '@tensorflow/tfjs-layers';
import type { ModelName } from '@mnist/protocol';
import { getModel } from './registry.js';

export interface LayerSummary {
  name: string;
  type: string;
  outputShape: string;
  params: number;
}

export interface ModelSummary {
  name: ModelName;
  title: string;
  params: number;
  trainableParams: number;
  layers: LayerSummary[];
}

function countTrainable(model: tfl.LayersModel): number {
  return model.trainableWeights.reduce((n, w) => n + w.shape.reduce<number>((a, b) => a * (b ?? 1), 1), 0);
}

/** Per-layer parameter breakdown, as the seed tabulates it. Builds (and disposes) the model. */
export function summarizeModel(name: string): ModelSummary {
  const entry = getModel(name);
  const model = entry.build(0);
  try {
    const layers = model.layers.map((layer) => ({
      name: layer.name,
      type: layer.getClassName(),
      outputShape: JSON.stringify(layer.outputShape).replace(/null/g, 'N'),
      params: layer.countParams(),
    }));
    return {
      name: entry.name,
      title: entry.title,
      params: model.countParams(),
      trainableParams: countTrainable(model),
      layers,
    };
  } finally {
    model.dispose();
  }
}
