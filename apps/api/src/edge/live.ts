import { connectNatsWs, openCluster } from '@mnist/cluster/edge';
import type { Logger } from '@mnist/core';
import { S3FetchStore } from '@mnist/storage/s3-fetch';
import { assembleApi, openClusterSide } from '../assemble.js';
import { natsHealth } from '../health.js';
import { createApiMetrics } from '../metrics/api-metrics.js';
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
 * Connects to NATS over WebSocket and builds the whole API on it with the same assembly as
 * node.ts on TCP (assemble.ts): the reconciler only when asked (the hub runs one, a
 * per-request connection does not live long enough), S3 over fetch, the shared metrics
 * renderer and the embedded dashboard. Broker resources are not created here: trainers own them.
 */
export async function openLiveApi(config: EdgeConfig, o: { log: Logger; reconcile: boolean }): Promise<LiveApi> {
  const { api } = config;
  const nc = await connectNatsWs({ servers: api.cluster.natsServers, name: 'mnist-api-edge', log: o.log });
  try {
    // Throws ClusterNotReadyError (answered 503 with the reason) until a trainer has made them.
    const cluster = await openCluster(nc, { ensureResources: false, log: o.log });
    const side = await openClusterSide(cluster, { reconcile: o.reconcile ? api.reconcile : undefined, log: o.log });
    const shutdown = new AbortController();
    const app = assembleApi(
      {
        cluster: side.deps,
        artifacts: S3FetchStore.create(config.s3),
        metrics: (snapshot) => createApiMetrics({ snapshot }),
        health: natsHealth(nc),
        assets: DASHBOARD_ASSETS,
      },
      api,
      { shutdown: shutdown.signal, log: o.log },
    );
    // The connection gave up reconnecting (or was closed): stop what runs on it.
    const closed = nc.closed().then(async () => {
      shutdown.abort();
      await side.close();
    });
    return {
      fetch: (request) => app.fetch(request),
      closed,
      close: async () => {
        shutdown.abort();
        await side.close();
        await nc.close();
      },
    };
  } catch (err) {
    await nc.close().catch(() => undefined);
    throw err;
  }
}
