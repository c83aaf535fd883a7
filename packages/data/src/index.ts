export { DatasetError, DatasetNotFoundError, IdxFormatError } from './errors.js';
export {
  IDX_IMAGES_MAGIC,
  IDX_LABELS_MAGIC,
  IMAGE_CHANNELS,
  IMAGE_HEIGHT,
  IMAGE_SHAPE,
  IMAGE_SIZE,
  IMAGE_WIDTH,
  NUM_CLASSES,
  parseIdxImages,
  parseIdxLabels,
  readIdxImages,
  readIdxLabels,
} from './idx.js';
export type { IdxImages } from './idx.js';
export { FASHION_MNIST_DIR, IDX_FILE_NAMES, defaultDatasetDir, resolveDatasetFiles } from './dataset-files.js';
export type { DatasetFiles } from './dataset-files.js';
export { loadDataset } from './load-dataset.js';
export { DatasetCache } from './dataset-cache.js';
export type { DatasetRequest } from './dataset-cache.js';
export type { Dataset, LoadDatasetOptions, Split } from './load-dataset.js';
export { PIXEL_STATS, normalizePixels } from './normalize.js';
export type { PixelStats } from './normalize.js';
export { epochPermutation } from './shuffle.js';
export { shardRange, shardSplit } from './shard.js';
export type { IndexRange } from './shard.js';
export { epochBatches, stepsPerEpoch } from './batches.js';
export type { EpochBatchesOptions, PlannedBatch } from './batches.js';
export { BatchBuffer, gatherBatch } from './gather.js';
export type { Batch } from './gather.js';
