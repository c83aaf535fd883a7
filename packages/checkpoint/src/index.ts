export { storeIOHandler, encodeNamedTensors, decodeNamedTensors } from './tfjs-io.js';
export type { NamedTensor } from './tfjs-io.js';
export { saveCheckpoint, copyCheckpoint, loadCheckpoint, loadLatestCheckpoint, listCheckpoints } from './checkpoint.js';
export type { CheckpointManifest, CheckpointInput, LoadedCheckpoint, SavableModel } from './checkpoint.js';
