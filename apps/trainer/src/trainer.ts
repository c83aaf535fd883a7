import { hostname } from 'node:os';
import { connectNats, openCluster, withNatsRetry } from '@mnist/cluster';
import { teeLogger, within, withRetry, type Logger } from '@mnist/core';
import { isRetryableStorageError, S3Store } from '@mnist/storage';
import { selectBackend } from '@mnist/backends';
import type { TrainerConfig } from './config.js';
import type { TrainerContext } from './context.js';
import { DatasetCache } from '@mnist/data';
import { DataListener } from './collective/tcp/data-listener.js';
import { dataPlaneTls } from './collective/tcp/tls.js';
import { startResponder } from './group/responder.js';
import { RankStoppedError, TrainerActivity } from './state.js';
import { RetryingStore } from './storage/retrying-store.js';
import { runTaskLoop } from './task-loop.js';

export interface Trainer {
  readonly id: string;
  readonly backend: string;
  /** Stops taking work, finishes or hands back the current job, leaves the registry, closes. */
  drain(): Promise<void>;
}

/** Brings a trainer up: backend, broker, bucket, then heartbeats, the responder and the task loop. */
export async function startTrainer(
  config: TrainerConfig,
  baseLog: Logger,
  onFatal: (err: unknown) => void,
): Promise<Trainer> {
  const id = config.trainerId;
  const log = baseLog.child({ trainer: id });
  const backend = await selectBackend(config.backend);
  log.info('backend.selected', { backend: backend.name, detail: backend.detail, skipped: backend.skipped });

  const nc = await connectNats({ servers: config.cluster.natsServers, name: `mnist-trainer-${id}`, log });
  const resources = {
    trainerTtlMs: config.trainerTtlMs,
    taskAckWaitMs: config.taskAckWaitMs,
    replicas: config.cluster.natsReplicas,
  };
  const cluster = await withNatsRetry(() => openCluster(nc, { resources, log }), {
    what: 'cluster resources',
    maxMs: 600_000,
    log,
  });
  const s3 = await S3Store.connect({ ...config.cluster.s3, maxAttempts: 3 });
  await withRetry(() => s3.ensureBucket(), {
    what: 'ensure bucket',
    maxMs: 600_000,
    isRetryable: isRetryableStorageError,
    log,
  });
  log.info('s3.ready', { bucket: config.cluster.s3.bucket, endpoint: config.cluster.s3.endpoint ?? 'aws' });

  const tls = config.data.tls && dataPlaneTls(config.data.tls);
  const dataListener = await DataListener.open({ ...config.data, ...(tls ? { tls: tls.server } : {}), log });
  log.info('data_plane.listening', {
    bind: config.data.bind,
    advertise: dataListener.endpoint,
    tls: tls !== undefined,
  });

  const startedAt = new Date().toISOString();
  const host = hostname();
  let beatSoon = () => undefined as void;
  const state = new TrainerActivity(() => beatSoon());
  const ctx: TrainerContext = {
    config,
    id,
    host,
    backend: backend.name,
    // Lines that name a job (jobId, with rank and attempt) also go to that job's log: `mnist logs <id>`.
    log: teeLogger(log, cluster.logs.sink(id), config.logLevel === 'debug' ? 'debug' : 'info'),
    cluster,
    store: new RetryingStore(s3, { budgetMs: config.s3RetryMs, log }),
    datasets: new DatasetCache(config.datasetDir),
    state,
    dataListener,
    ...(tls ? { dataTls: tls.client } : {}),
  };

  // heartbeats: periodic, and at once on every state change so `mnist trainers` is current.
  let beatFailures = 0;
  const beat = () =>
    cluster.trainers
      .heartbeat({
        id,
        host,
        pid: process.pid,
        backend: backend.name,
        ...state.info(),
        startedAt,
        lastSeen: new Date().toISOString(),
      })
      .then(() => (beatFailures > 0 && log.info('heartbeat.restored', { missed: beatFailures }), (beatFailures = 0)))
      .catch((err: unknown) => beatFailures++ === 0 && log.warn('heartbeat.failed', { error: err }));
  beatSoon = () => {
    beat().catch(() => undefined); // beat() logs its own failures
  };
  const heartbeat = setInterval(beatSoon, config.heartbeatMs);
  await beat();

  const subs = startResponder(ctx);
  // A crashed loop would leave a trainer that heartbeats as idle and never takes work:
  // report it as fatal, so the process exits and its supervisor restarts it.
  const loop = runTaskLoop(ctx).catch((err: unknown) => {
    log.error('task_loop.crashed', { error: err });
    onFatal(err);
  });
  log.info('trainer.ready', {
    backend: backend.name,
    nats: nc.getServer(),
    ackWaitMs: cluster.settings.taskAckWaitMs,
    trainerTtlMs: cluster.settings.trainerTtlMs,
  });

  const drain = async () => {
    log.info('trainer.draining', { activity: state.activity.kind });
    state.startDraining();
    const a = state.activity;
    if (a.kind === 'reserved') state.toIdle();
    if (a.kind === 'busy') {
      if (config.drainGraceMs > 0) await within(state.waitUntilFree(), config.drainGraceMs, undefined);
      const still = state.activity;
      if (still.kind === 'busy') still.stop(new RankStoppedError('draining', `trainer ${id} is shutting down`));
      await within(state.waitUntilFree(), 60_000, undefined);
    }
    await loop;
    for (const s of subs) s.unsubscribe();
    dataListener.close();
    clearInterval(heartbeat);
    await cluster.trainers.remove(id).catch((err: unknown) => log.warn('registry.remove_failed', { error: err }));
    // Drain flushes what is buffered; with the broker away it would wait for it, so bound it.
    await within(
      nc.drain().catch(() => undefined),
      5_000,
      undefined,
    );
    if (!nc.isClosed()) await nc.close();
    s3.destroy();
    log.info('trainer.stopped');
  };
  return { id, backend: backend.name, drain };
}
