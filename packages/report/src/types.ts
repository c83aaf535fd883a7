import type { EpochRecord, JobSpec } from '@mnist/protocol';

/** One trained model's metrics, as read from its `metrics.jsonl`. */
export interface RunMetrics {
  /** Display name, e.g. 'LeNet5', 'CustomMLP', 'RegularizedLeNet5'. */
  title: string;
  /** Registry name, e.g. 'lenet5'. */
  model: string;
  records: readonly EpochRecord[];
}

/** What the report header says about how the runs were made; every field is optional. */
export interface ReportMeta {
  /** The shared recipe; its `model` field is ignored (each run names its own). */
  spec?: JobSpec;
  /** Overrides the backends named in the records. */
  backend?: string;
  /** Wall time of the whole study, in seconds. */
  wallSeconds?: number;
}
