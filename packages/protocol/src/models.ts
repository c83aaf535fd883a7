/** Model names are public contract (ARCHITECTURE.md): CLI flags, job specs, S3 metadata. */
export const MODEL_NAMES = ['lenet5', 'mlp', 'lenet5-reg'] as const;
export type ModelName = (typeof MODEL_NAMES)[number];

export const DATASET_NAMES = ['mnist', 'fashion-mnist'] as const;
export type DatasetName = (typeof DATASET_NAMES)[number];
