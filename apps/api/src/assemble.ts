import { isBrokerUnavailable, Reconciler, type ClusterClient } from '@mnist/cluster/edge';
import type { Logger } from '@mnist/core';
import { createApp } from './app.js';
import { clusterDeps } from './cluster-deps.js';
import type { ApiCluster, ApiMetrics, ArtifactReader, Asset, HealthReport } from './deps.js';
import { appOptionsOf, type ApiConfig } from './env.js';
import { createSnapshotter, type ClusterSnapshot } from './metrics/snapshot.js';

/**
 * The one assembly of the API, used by both shells (node.ts on TCP, edge/live.ts on
 * WebSocket). Edge-safe: only @mnist/cluster's edge entry is imported here.
 */

/** The cluster side of the API on an open ClusterClient, and how to stop it. */
export interface ClusterSide {
  deps: ApiCluster;
  /** Stops the reconciler and closes the view (the connection is the shell's). */
  close(): Promise<void>;
}

/**
 * One watched view of jobs and trainers serves every list; the reconciler (when given its
 * options: a per-request edge connection does not live long enough for one) works from it.
 */
export async function openClusterSide(
  cluster: ClusterClient,
  o: { reconcile?: ApiConfig['reconcile']; log: Logger },
): Promise<ClusterSide> {
  const view = await cluster.openView();
  const reconciler =
    o.reconcile && new Reconciler({ view, jobs: cluster.jobs, tasks: cluster.tasks }, { ...o.reconcile, log: o.log });
  reconciler?.start();
  return {
    deps: clusterDeps(cluster, view),
    close: async () => {
      await reconciler?.stop();
      view.close();
    },
  };
}

/** What differs between the runtimes; the rest of the app is the same everywhere. */
export interface ApiParts {
  cluster: ApiCluster;
  artifacts: ArtifactReader;
  /** The runtime's metrics (prom-client's process metrics on Node), on the shared cluster snapshot. */
  metrics: (snapshot: () => Promise<ClusterSnapshot>) => ApiMetrics;
  health: () => Promise<HealthReport>;
  assets: Readonly<Record<string, Asset>>;
}

export function assembleApi(parts: ApiParts, config: ApiConfig, o: { shutdown: AbortSignal; log: Logger }) {
  return createApp(
    {
      cluster: parts.cluster,
      artifacts: parts.artifacts,
      metrics: parts.metrics(createSnapshotter(parts.cluster, parts.artifacts)),
      health: parts.health,
      assets: parts.assets,
      isUnavailable: isBrokerUnavailable,
    },
    { ...appOptionsOf(config), shutdown: o.shutdown, log: o.log },
  );
}
