export { createLogger, errorFields, silentLogger, teeLogger } from './log.js';
export type { Logger, LogFields, LogLevel, LoggerOptions, LogTap } from './log.js';
export { sleep, within, withRetry } from './retry.js';
export type { RetryOptions } from './retry.js';
export { createEnv, envBoolean, envInt, LOG_ENV, LOG_LEVELS, runtimeEnv } from './env.js';
export type { Env, EnvSource } from './env.js';
export {
  ClusterError,
  ClusterNotReadyError,
  ConfigError,
  CorruptRecordError,
  IdempotencyKeyReusedError,
  JobConflictError,
  JobExistsError,
  JobFinishedError,
  JobNotFoundError,
  StorageError,
  SubmitError,
} from './errors.js';
export type { ConfigIssue } from './errors.js';
export { armedFailpoints, failpoint, FAILPOINTS } from './failpoints.js';
export type { Failpoint } from './failpoints.js';
