export { MODELS, getModel, isModelName, UnknownModelError } from './registry.js';
export type { ModelEntry } from './registry.js';
export { summarizeModel } from './summary.js';
export type { ModelSummary, LayerSummary } from './summary.js';
export { SeededDropout, setDropoutStep } from './seeded-dropout.js';
