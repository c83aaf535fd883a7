import { connect, type NatsConnection } from '@nats-io/transport-node';
import { silentLogger, type Logger } from '@mnist/core';
import { splitNatsAuth } from './nats-auth.js';
import { logStatus } from './nats-status.js';

export interface ConnectOptions {
  /** May carry credentials: `nats://user:pass@host:4222` or `nats://token@host:4222`. */
  servers: string[];
  /** Shown in the server's connection list (`nats server report connections`). */
  name: string;
  log?: Logger;
  /** Pause between reconnect attempts, ms. */
  reconnectTimeWaitMs?: number;
}

/**
 * Connects and never gives up: the first connect waits for the server to appear (compose
 * starts everything at once) and reconnects are unlimited, so a restarted nats-server is
 * a pause, not a crash. Status changes are logged as structured lines.
 */
export async function connectNats(o: ConnectOptions): Promise<NatsConnection> {
  const log = o.log ?? silentLogger;
  const nc = await connect({
    ...splitNatsAuth(o.servers),
    name: o.name,
    maxReconnectAttempts: -1,
    waitOnFirstConnect: true,
    reconnectTimeWait: o.reconnectTimeWaitMs ?? 500,
    // Notice a silently dead server (no TCP reset) within about half a minute.
    pingInterval: 10_000,
    maxPingOut: 3,
  });
  log.info('nats.connected', { server: nc.getServer() });
  logStatus(nc, log).catch((err: unknown) => log.warn('nats.status_watch_failed', { error: err }));
  return nc;
}
