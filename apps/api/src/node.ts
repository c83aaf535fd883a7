import { serve } from '@hono/node-server';
import { connectNats, openClusterWhenReady } from '@mnist/cluster';
import { armedFailpoints, ClusterNotReadyError, ConfigError, createLogger, withRetry } from '@mnist/core';
import { S3Store } from '@mnist/storage';
import { assembleApi, openClusterSide } from './assemble.js';
import { pending } from './pending.js';
import { createPrometheus } from './metrics/prometheus.js';
import { loadAssets } from './node/assets.js';
import { parseApiEnv } from './env.js';
import { natsHealth } from './health.js';

/** How long open requests and streams get to finish on SIGTERM before the process exits anyway. */
const SHUTDOWN_GRACE_MS = 10_000;

/**
 * `npm run api`: serves the API on PORT with @hono/node-server, configured by environment
 * (apps/api/README.md). SIGTERM/SIGINT: stop accepting, end event streams (clients resume
 * elsewhere with Last-Event-ID), drain NATS, exit 0; a second signal exits at once.
 */
async function main(): Promise<void> {
  let config;
  try {
    config = parseApiEnv(process.env);
    armedFailpoints(); // a misspelt MNIST_FAILPOINTS fails here, not mid-request
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    process.stderr.write(`api: ${err.message}\n`);
    process.exit(2);
  }
  const log = createLogger({ app: 'api' }, { level: config.logLevel });
  const nc = await connectNats({ servers: config.cluster.natsServers, name: 'mnist-api', log });
  const s3 = await S3Store.connect(config.cluster.s3);
  // The bucket may not be up yet when everything starts at once (compose): retry any error for a minute, every 2 s.
  await withRetry(() => s3.ensureBucket(), {
    what: 'ensure bucket',
    maxMs: 60_000,
    initialDelayMs: 2_000,
    maxDelayMs: 2_000,
    isRetryable: () => true,
    log,
  });

  const shutdown = new AbortController();
  // The trainers own the broker's streams and buckets (and their settings); the API uses
  // them once they exist and answers cluster calls with 503 until then.
  const started = openClusterWhenReady(nc, { log, signal: shutdown.signal }).then((cluster) =>
    openClusterSide(cluster, { reconcile: config.reconcile, log }),
  );
  started.catch((err: unknown) => {
    if (shutdown.signal.aborted) return;
    log.error('api.cluster_failed', { error: err });
    process.exit(1);
  });
  // Until then cluster calls answer 503 with the reason (health, dashboard and artifacts work).
  const { value: apiCluster, isReady } = pending(
    started.then((s) => s.deps),
    () => new ClusterNotReadyError(['the streams and buckets']),
  );
  const app = assembleApi(
    {
      cluster: apiCluster,
      artifacts: s3,
      metrics: (snapshot) => createPrometheus({ snapshot }),
      health: natsHealth(nc, isReady),
      assets: loadAssets(),
    },
    config,
    { shutdown: shutdown.signal, log },
  );

  const server = serve({ fetch: app.fetch, port: config.port, hostname: config.host }, (info) => {
    log.info('api.listening', {
      url: `http://${info.family === 'IPv6' ? `[${info.address}]` : info.address}:${info.port}`,
      port: info.port,
      auth: config.token ? (config.publicRead ? 'token for writes' : 'token') : 'none',
    });
  });

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) {
      log.warn('api.forced_exit', { signal });
      process.exit(1);
    }
    stopping = true;
    log.info('api.stopping', { signal });
    setTimeout(() => {
      log.warn('api.shutdown_timeout', { graceMs: SHUTDOWN_GRACE_MS });
      process.exit(1);
    }, SHUTDOWN_GRACE_MS).unref();
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    shutdown.abort();
    // Keep-alive connections turn idle as their last response (an event stream) ends: close them as they do.
    const sweep = setInterval(() => 'closeIdleConnections' in server && server.closeIdleConnections(), 50);
    await closed;
    clearInterval(sweep);
    const running = isReady() ? await started : undefined;
    await running?.close();
    await nc.drain().catch((err: unknown) => log.warn('nats.drain_failed', { error: err }));
    s3.destroy();
    log.info('api.stopped');
    process.exit(0);
  };
  const onSignal = (signal: string) => {
    stop(signal).catch((err: unknown) => {
      log.error('api.stop_failed', { error: err });
      process.exit(1);
    });
  };
  process.on('SIGTERM', () => onSignal('SIGTERM'));
  process.on('SIGINT', () => onSignal('SIGINT'));
}

main().catch((err: unknown) => {
  process.stderr.write(`api: ${(err as Error).message ?? String(err)}\n`);
  process.exit(1);
});
