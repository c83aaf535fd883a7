import type { EpochRecord, JobSpec } from '@mnist/protocol';

/** One trained model's metrics, as read from its `metrics.jsonl`. */
export interface RunMetrics {
  /** Display name, e.g. 'LeNet5', 'CustomMLP', 'RegularizedLeNet5'. */
  title: string;
  /** Registry name, e.g. 'lenet5'. */
  model: string;
  records: readonly EpochRecord[];
  /**
   * For a group of seeds: the records hold each epoch's mean over the seeds and this
   * holds the sample standard deviation (NaN where only one seed has the epoch).
   * The curves draw it as a band around the mean.
   */
  spread?: readonly EpochSpread[];
}

/** Spread over seeds of one epoch's values, in the units of EpochRecord. */
export interface EpochSpread {
  epoch: number;
  /** Seeds that recorded this epoch. */
  seeds: number;
  trainLoss: number;
  trainAcc: number;
  testLoss: number;
  testAcc: number;
}

/** What the report header says about how the runs were made; every field is optional. */
export interface ReportMeta {
  /** The shared recipe; its `model` field is ignored (each run names its own). */
  spec?: JobSpec;
  /** Overrides the backends named in the records. */
  backend?: string;
  /** The seeds of a seed study; the recipe line names them instead of the spec's seed. */
  seeds?: readonly number[];
  /** Wall time of the whole study, in seconds. */
  wallSeconds?: number;
  /** What differs between the compared runs besides the model (recipeDifferences): a warning at the top. */
  differences?: readonly string[];
}
