/**
 * Load time of each dataset, as JSON on stdout: `npx tsx bench/load.ts`.
 * Each dataset is loaded three times; the first run includes cold file caches.
 */
import { existsSync } from 'node:fs';
import { DATASET_NAMES } from '@mnist/protocol';
import { FASHION_MNIST_DIR, loadDataset } from '../src/index.js';

const RUNS = 3;

for (const name of DATASET_NAMES) {
  if (name === 'fashion-mnist' && !existsSync(FASHION_MNIST_DIR)) continue;
  const ms: number[] = [];
  let images = 0;
  for (let run = 0; run < RUNS; run++) {
    const start = performance.now();
    const ds = await loadDataset({ name });
    ms.push(Math.round(performance.now() - start));
    images = ds.train.count + ds.test.count;
  }
  console.log(JSON.stringify({ dataset: name, images, ms, bestMs: Math.min(...ms) }));
}
