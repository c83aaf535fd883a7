import type { ConnectionOptions } from 'node:tls';
import type { ClusterClient } from '@mnist/cluster';
import type { Logger } from '@mnist/core';
import type { DataListener } from './collective/tcp/data-listener.js';
import type { TrainerConfig } from './config.js';
import type { DatasetCache } from '@mnist/data';
import type { RetryingStore } from './storage/retrying-store.js';
import type { TrainerState } from './state.js';

/** What every part of a running trainer shares; built once in trainer.ts. */
export interface TrainerContext {
  config: TrainerConfig;
  id: string;
  host: string;
  /** The tfjs backend actually active (after MNIST_BACKEND's fallbacks). */
  backend: string;
  log: Logger;
  cluster: ClusterClient;
  /** The bucket root, with retries; jobs live under jobPrefix(id). */
  store: RetryingStore;
  datasets: DatasetCache;
  state: TrainerState;
  /** Where this trainer's peers connect to send it gradients (the data plane). */
  dataListener: DataListener;
  /** TLS client options for dialing peers, when the data plane uses TLS. */
  dataTls?: ConnectionOptions;
}
