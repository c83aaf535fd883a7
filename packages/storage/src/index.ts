export { StorageError, getText, getJson, putJson, assertSafeKey } from './artifact-store.js';
export type { ArtifactStore } from './artifact-store.js';
export { FsStore } from './fs-store.js';
export { S3Store } from './s3-store.js';
export type { S3Config } from './s3-store.js';
export { storeIOHandler, encodeNamedTensors, decodeNamedTensors } from './tfjs-io.js';
export type { NamedTensor } from './tfjs-io.js';
export { saveCheckpoint, copyCheckpoint, loadCheckpoint, loadLatestCheckpoint, listCheckpoints } from './checkpoint.js';
export type { CheckpointManifest, CheckpointInput, LoadedCheckpoint, SavableModel } from './checkpoint.js';
