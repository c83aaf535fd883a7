import { Hono } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { silentLogger, type Logger } from '@mnist/core';
import type { ApiDeps } from './deps.js';
import { errorHandler, HttpError, notFoundHandler } from './http-error.js';
import { bearerAuth } from './middleware/auth/index.js';
import { observe } from './middleware/observe/index.js';
import { headWithoutBody } from './middleware/head/index.js';
import { artifactsRoutes } from './routes/artifacts.js';
import { logsRoutes } from './routes/job-logs.js';
import { eventsRoutes } from './routes/events.js';
import { jobsRoutes } from './routes/jobs.js';
import { sweepsRoutes } from './routes/sweeps.js';
import { DASHBOARD_PATHS, systemRoutes } from './routes/system.js';

export interface AppOptions {
  /** API_TOKEN: when set, every route but the public ones needs `Authorization: Bearer <token>`. */
  token?: string;
  /** API_PUBLIC_READ: GET routes open without the token. */
  publicRead?: boolean;
  /** Largest request body accepted (413 above). */
  bodyLimitBytes?: number;
  /** SSE keep-alive comment interval. */
  sseKeepAliveMs?: number;
  /** MAX_REPLICAS: the largest `replicas` a job may ask for (400 above). */
  maxReplicas?: number;
  /** MAX_QUEUED: waiting (queued + parked) jobs at which a submit gets 429. */
  maxQueued?: number;
  /** Aborted on shutdown: open event streams end so the process can exit. */
  shutdown?: AbortSignal;
  log?: Logger;
}

export const APP_DEFAULTS = {
  publicRead: false,
  bodyLimitBytes: 64 * 1024,
  sseKeepAliveMs: 15_000,
  maxReplicas: 64,
  maxQueued: 1_000,
  log: silentLogger,
} as const satisfies Omit<AppOptions, 'token' | 'shutdown'>;

/** Routes anyone may call: the health check and the dashboard's static files (they hold no data). */
export const PUBLIC_PATHS: readonly string[] = ['/healthz', ...DASHBOARD_PATHS];

/**
 * The API as one Hono app. No Node-only imports: the cluster, the artifact store and the
 * Prometheus registry come in through `deps`, so another runtime can serve it.
 */
export function createApp(deps: ApiDeps, options: AppOptions = {}) {
  const o = { ...APP_DEFAULTS, ...options };
  const app = new Hono();
  app.onError(errorHandler(o.log, deps.isUnavailable));
  app.notFound(notFoundHandler);
  return app
    .use('*', observe({ log: o.log, ...(deps.metrics && { record: (r) => deps.metrics!.observe(r) }) }))
    .use('*', bearerAuth({ token: o.token, publicRead: o.publicRead, publicPaths: PUBLIC_PATHS }))
    .use('*', headWithoutBody())
    .use(
      '/v1/*',
      bodyLimit({
        maxSize: o.bodyLimitBytes,
        onError: () => {
          // The rest of the body stays unread and the server drops the connection: say so,
          // or a keep-alive client reuses the socket for its next request and sees it closed.
          throw new HttpError(413, { error: `request body over ${o.bodyLimitBytes} bytes` }, { Connection: 'close' });
        },
      }),
    )
    .route('/', systemRoutes(deps))
    .route('/v1/jobs', jobsRoutes(deps, { maxReplicas: o.maxReplicas, maxQueued: o.maxQueued, log: o.log }))
    .route(
      '/v1/jobs',
      eventsRoutes(deps, { keepAliveMs: o.sseKeepAliveMs, log: o.log, ...(o.shutdown && { shutdown: o.shutdown }) }),
    )
    .route(
      '/v1/jobs',
      logsRoutes(deps, { keepAliveMs: o.sseKeepAliveMs, log: o.log, ...(o.shutdown && { shutdown: o.shutdown }) }),
    )
    .route('/v1/jobs', artifactsRoutes(deps))
    .route('/v1/sweeps', sweepsRoutes(deps));
}

/** The routes' types, for `hc<AppType>` (the CLI). */
export type AppType = ReturnType<typeof createApp>;
