export { ClusterEnvSchema, CLUSTER_DEFAULTS, envBoolean, envInt, parseClusterEnv, parseEnv, toClusterConfig } from './config.js';
export type { ClusterConfig, S3Settings } from './config.js';
export { connectNats } from './connect.js';
export type { ConnectOptions } from './connect.js';
export { ensureClusterResources, RESOURCE_DEFAULTS, ResourceConflictError } from './resources.js';
export type { ClusterResourceOptions } from './resources.js';
export { openCluster, SubmitError } from './cluster-client.js';
export type { Admission, ClusterClient, OpenClusterOptions, SubmitOptions } from './cluster-client.js';
export { ClusterView } from './cluster-view.js';
export type { ViewedJob } from './cluster-view.js';
export { placeableTrainers, Reconciler } from './reconciler.js';
export type { ReconcilerDeps, ReconcilerOptions } from './reconciler.js';
export { JobStore } from './job-store.js';
export type { JobEntry, StatusChangeHook, TransitionResult } from './job-store.js';
export { jobIdForKey, newJobId } from './job-ids.js';
export { TrainerRegistry } from './trainer-registry.js';
export { EventLog } from './events.js';
export type { FollowOptions, SequencedEvent } from './events.js';
export { TaskQueue } from './tasks.js';
export { isTransientNatsError, sleep, withRetry } from './retry.js';
export type { RetryOptions } from './retry.js';
export { createLogger, errorFields, silentLogger } from './log.js';
export type { Logger, LogFields, LogLevel, LoggerOptions } from './log.js';
export {
  ClusterError,
  ConfigError,
  CorruptRecordError,
  IdempotencyKeyReusedError,
  JobConflictError,
  JobExistsError,
  JobFinishedError,
  JobNotFoundError,
} from './errors.js';
export type { ConfigIssue } from './errors.js';
