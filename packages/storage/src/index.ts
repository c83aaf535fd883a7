export { StorageError, getText, getJson, putJson, assertSafeKey } from './artifact-store.js';
export type { ArtifactStore } from './artifact-store.js';
export { isRetryableStorageError } from './retryable.js';
export { FsStore } from './fs-store.js';
export { S3Store } from './s3-store.js';
export type { S3Config } from './s3-store.js';
