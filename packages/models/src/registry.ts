import type * as tfl from '@tensorflow/tfjs-layers';
import { MODEL_NAMES, type ModelName } from '@mnist/protocol';
import { buildLeNet5 } from './lenet5.js';
import { buildMlp } from './mlp.js';

export interface ModelEntry {
  name: ModelName;
  /** The name the seed's tables use. */
  title: string;
  description: string;
  /** Parameter counts the seed derives by hand; tests hold the builders to them. */
  expectedParams: number;
  expectedTrainableParams: number;
  build(seed: number): tfl.LayersModel;
}

export const MODELS: Readonly<Record<ModelName, ModelEntry>> = {
  lenet5: {
    name: 'lenet5',
    title: 'LeNet5',
    description: 'LeNet-5: C1-S2-C3-S4-C5-F6-output, ReLU, max pooling',
    expectedParams: 61_706,
    expectedTrainableParams: 61_706,
    build: (seed) => buildLeNet5({ seed, regularized: false }),
  },
  mlp: {
    name: 'mlp',
    title: 'CustomMLP',
    description: 'CustomMLP: fully connected 784-70-55-28-10, ReLU',
    expectedParams: 60_713,
    expectedTrainableParams: 60_713,
    build: (seed) => buildMlp({ seed }),
  },
  'lenet5-reg': {
    name: 'lenet5-reg',
    title: 'RegularizedLeNet5',
    description: 'LeNet-5 with batch norm after C1 and C3 and dropout 0.5 after F6',
    // 44 trainable batch-norm scales/offsets plus 44 moving statistics.
    expectedParams: 61_794,
    expectedTrainableParams: 61_750,
    build: (seed) => buildLeNet5({ seed, regularized: true }),
  },
};

export class UnknownModelError extends Error {
  override readonly name = 'UnknownModelError';
  constructor(readonly model: string) {
    super(`unknown model '${model}': choose one of ${MODEL_NAMES.join(', ')}`);
  }
}

export function isModelName(name: string): name is ModelName {
  return (MODEL_NAMES as readonly string[]).includes(name);
}

export function getModel(name: string): ModelEntry {
  if (!isModelName(name)) throw new UnknownModelError(name);
  return MODELS[name];
}
