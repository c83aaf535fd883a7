import type { DatasetName } from '@mnist/protocol';
import { loadDataset, type Dataset } from './load-dataset.js';

/** What a run needs loaded: a JobSpec fits. */
export interface DatasetRequest {
  dataset: DatasetName;
  trainLimit?: number;
  testLimit?: number;
}

/**
 * Loaded datasets kept between runs: reading and normalising full MNIST takes a second
 * and ~220 MB, and the next run usually wants the same subset again (the next model of
 * a study, the next rank or attempt of a job). Least recently used entries beyond
 * `capacity` are dropped.
 */
export class DatasetCache {
  private readonly entries = new Map<string, Promise<Dataset>>();

  constructor(
    private readonly dir: string | undefined,
    private readonly capacity = 2,
  ) {}

  get(spec: DatasetRequest): Promise<Dataset> {
    const key = `${spec.dataset}|${spec.trainLimit ?? 'all'}|${spec.testLimit ?? 'all'}`;
    let entry = this.entries.get(key);
    if (entry) {
      this.entries.delete(key); // re-insert: Map order is our recency order
    } else {
      entry = loadDataset({
        name: spec.dataset,
        dir: this.dir,
        trainLimit: spec.trainLimit,
        testLimit: spec.testLimit,
      });
      // A failed load is not cached: the next job tries again (the folder may have been fixed).
      entry.catch(() => this.entries.delete(key));
    }
    this.entries.set(key, entry);
    while (this.entries.size > this.capacity) this.entries.delete(this.entries.keys().next().value!);
    return entry;
  }
}
