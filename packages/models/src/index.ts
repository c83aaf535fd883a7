export { MODELS, getModel, isModelName, UnknownModelError } from './registry.js';
export type { ModelEntry } from './registry.js';
export { summarizeModel } from './summary.js';
export type { ModelSummary, LayerSummary } from './summary.js';
export { SeededDropout, setDropoutStep } from './seeded-dropout.js';
export { BatchNorm } from './batch-norm.js';
export { batchNormTrain, BATCH_NORM_TRAIN, BATCH_NORM_TRAIN_GRAD } from './batch-norm-op.js';
export type { BatchNormTrainResult } from './batch-norm-op.js';
export { FusedConv2D } from './conv2d.js';
