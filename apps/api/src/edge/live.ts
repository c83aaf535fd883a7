import { connectNatsWs, isBrokerUnavailable, openCluster, Reconciler } from '@mnist/cluster/edge';
import type { Logger } from '@mnist/core';
import { S3FetchStore } from '@mnist/storage/s3-fetch';
import { createApp } from '../app.js';
import { clusterDeps } from '../cluster-deps.js';
import { appOptionsOf } from '../env.js';
import { natsHealth } from '../health.js';
import { createApiMetrics } from '../metrics/api-metrics.js';
import { createSnapshotter } from '../metrics/snapshot.js';
import { DASHBOARD_ASSETS } from './assets.js';
import type { EdgeConfig } from './config.js';

/** The API over one NATS connection: the app, and how to end it. */
export interface LiveApi {
  fetch(request: Request): Response | Promise<Response>;
  /** Settles when the connection has closed for good (reconnects given up, or close()). */
  readonly closed: Promise<unknown>;
  close(): Promise<void>;
}

/**
 * Connects to NATS over WebSocket and builds the whole API on it, as node.ts does on TCP:
 * the watched view for lists, the reconciler (optional: the hub runs one, a per-request
 * connection does not live long enough), S3 over fetch, the shared metrics renderer and
 * the embedded dashboard. Broker resources are not created here: trainers own them.
 */
export async function openLiveApi(config: EdgeConfig, o: { log: Logger; reconcile: boolean }): Promise<LiveApi> {
  const { api } = config;
  const nc = await connectNatsWs({ servers: api.cluster.natsServers, name: 'mnist-api-edge', log: o.log });
  try {
    // Throws ClusterNotReadyError (answered 503 with the reason) until a trainer has made them.
    const cluster = await openCluster(nc, { ensureResources: false, log: o.log });
    const view = await cluster.openView();
    const reconciler = o.reconcile ? new Reconciler({ view, jobs: cluster.jobs, tasks: cluster.tasks }, { ...api.reconcile, log: o.log }) : undefined;
    reconciler?.start();
    const apiCluster = await clusterDeps(cluster, view);
    const artifacts = S3FetchStore.create(config.s3);
    const shutdown = new AbortController();
    const app = createApp(
      {
        cluster: apiCluster,
        artifacts,
        metrics: createApiMetrics({ snapshot: createSnapshotter(apiCluster, artifacts) }),
        health: natsHealth(nc),
        assets: DASHBOARD_ASSETS,
        isUnavailable: isBrokerUnavailable,
      },
      {
        ...appOptionsOf(api),
        shutdown: shutdown.signal,
        log: o.log,
      },
    );
    // The connection gave up reconnecting (or was closed): stop what runs on it.
    const closed = nc.closed().then(async () => {
      shutdown.abort();
      view.close();
      await reconciler?.stop();
    });
    return {
      fetch: (request) => app.fetch(request),
      closed,
      close: async () => {
        shutdown.abort();
        await reconciler?.stop();
        view.close();
        await nc.close();
      },
    };
  } catch (err) {
    await nc.close().catch(() => undefined);
    throw err;
  }
}
