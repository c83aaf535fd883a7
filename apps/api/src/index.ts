export { createApp, APP_DEFAULTS, PUBLIC_PATHS } from './app.js';
export type { AppOptions, AppType } from './app.js';
export type {
  ApiCluster,
  ApiDeps,
  ApiMetrics,
  ArtifactReader,
  Asset,
  HealthReport,
  RequestObservation,
} from './deps.js';
export { HttpError } from './http-error.js';
export type { ErrorBody, ErrorIssue } from './http-error.js';
