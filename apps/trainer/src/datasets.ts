import { loadDataset, type Dataset } from '@mnist/data';
import type { JobSpec } from '@mnist/protocol';

/**
 * Loaded datasets kept between jobs: reading and normalising full MNIST takes a second
 * and ~220 MB, and a trainer usually runs the same subset again (the next rank, the
 * next attempt). Least recently used entries beyond `capacity` are dropped.
 */
export class DatasetCache {
  private readonly entries = new Map<string, Promise<Dataset>>();

  constructor(
    private readonly dir: string | undefined,
    private readonly capacity = 2,
  ) {}

  get(spec: Pick<JobSpec, 'dataset' | 'trainLimit' | 'testLimit'>): Promise<Dataset> {
    const key = `${spec.dataset}|${spec.trainLimit ?? 'all'}|${spec.testLimit ?? 'all'}`;
    let entry = this.entries.get(key);
    if (entry) {
      this.entries.delete(key); // re-insert: Map order is our recency order
    } else {
      entry = loadDataset({ name: spec.dataset, dir: this.dir, trainLimit: spec.trainLimit, testLimit: spec.testLimit });
      // A failed load is not cached: the next job tries again (the folder may have been fixed).
      entry.catch(() => this.entries.delete(key));
    }
    this.entries.set(key, entry);
    while (this.entries.size > this.capacity) this.entries.delete(this.entries.keys().next().value!);
    return entry;
  }
}
