/** Model names are public contract (docs/architecture.md "Public contracts"): CLI flags, job specs, S3 metadata. */
export const MODEL_NAMES = ['lenet5', 'mlp', 'lenet5-reg'] as const;
export type ModelName = (typeof MODEL_NAMES)[number];

export const DATASET_NAMES = ['mnist', 'fashion-mnist'] as const;
export type DatasetName = (typeof DATASET_NAMES)[number];

/** `MNIST_BACKEND` / `--backend` values: `auto` takes the fastest that works here. */
export const BACKEND_CHOICES = ['auto', 'tensorflow', 'onednn', 'wasm', 'cpu'] as const;
export type BackendChoice = (typeof BACKEND_CHOICES)[number];

export const isBackendChoice = (value: string): value is BackendChoice =>
  (BACKEND_CHOICES as readonly string[]).includes(value);
