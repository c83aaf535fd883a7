/**
 * The edge-safe part of the package: no Node built-in is reachable from here (Workers, workerd).
 * NATS over WebSocket (connectNatsWs); the TCP transport is in the main entry only.
 */
export { CLUSTER_DEFAULTS, CLUSTER_ENV, parseClusterEnv, toClusterConfig } from './config.js';
export type { ClusterConfig, S3Settings } from './config.js';
export {
  ensureClusterResources,
  missingClusterResources,
  RESOURCE_DEFAULTS,
  ResourceConflictError,
} from './resources.js';
export type { ClusterResourceOptions, EnsuredResources, ResourceSettings } from './resources.js';
export { openCluster, openClusterWhenReady } from './cluster-client.js';
export type { Admission, ClusterClient, OpenClusterOptions, SubmitOptions } from './cluster-client.js';
export { ClusterView } from './cluster-view.js';
export type { ViewedJob } from './cluster-view.js';
export { Reconciler } from './reconciler.js';
export type { ReconcilerDeps, ReconcilerOptions } from './reconciler.js';
export { JobStore } from './job-store.js';
export type { JobEntry, StatusChangeHook, TransitionResult } from './job-store.js';
export { connectNatsWs } from './connect-ws.js';
export type { WsConnectOptions } from './connect-ws.js';
export { isKeyedJobId, jobIdForKey, newJobId } from './job-ids.js';
export { TrainerRegistry } from './trainer-registry.js';
export { EventLog } from './events.js';
export { JobLogs, LOGS_STREAM_LIMITS } from './job-logs.js';
export type { FollowOptions, SequencedEvent } from './events.js';
export { TaskQueue, sharedLease } from './tasks.js';
export type { TaskLease, TaskPuller, TaskShare } from './tasks.js';
export type { BusMessage, BusSubscription, MessageBus } from './bus.js';
export { isBrokerUnavailable, isTransientNatsError, withNatsRetry } from './nats-errors.js';
