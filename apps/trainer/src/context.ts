import type { ClusterClient } from '@mnist/cluster';
import type { Logger } from '@mnist/core';
import type { TrainerConfig } from './config.js';
import type { DatasetCache } from '@mnist/data';
import type { RetryingStore } from './storage/retrying-store.js';
import type { NatsCollectiveOptions } from './collective/nats-collective.js';
import type { TrainerActivity } from './state.js';

/** What every part of a running trainer shares; built once in trainer.ts. */
export interface TrainerContext {
  config: TrainerConfig;
  id: string;
  host: string;
  /** The tfjs backend actually active (after MNIST_BACKEND's fallbacks). */
  backend: string;
  log: Logger;
  /**
   * TEMPORARY: the raw connection, for openCollective (run/rank.ts) only, until the data
   * plane moves off it; everything else goes through `cluster` (lint enforces it).
   */
  nc: NatsCollectiveOptions['nc'];
  cluster: ClusterClient;
  /** The bucket root, with retries; jobs live under jobPrefix(id). */
  store: RetryingStore;
  datasets: DatasetCache;
  state: TrainerActivity;
}
