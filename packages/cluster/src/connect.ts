import { connect, type NatsConnection } from '@nats-io/transport-node';
import { silentLogger } from '@mnist/core';
import { commonOptions, logStatus, type ConnectOptions } from './nats-connection.js';

export type { ConnectOptions };

/**
 * Connects and never gives up: the first connect waits for the server to appear (compose
 * starts everything at once) and reconnects are unlimited, so a restarted nats-server is
 * a pause, not a crash. Status changes are logged as structured lines.
 */
export async function connectNats(o: ConnectOptions): Promise<NatsConnection> {
  const log = o.log ?? silentLogger;
  const nc = await connect({
    ...commonOptions(o),
    maxReconnectAttempts: -1,
    waitOnFirstConnect: true,
    // A server behind a cut link does not refuse, it never answers: try the next one soon.
    timeout: 5_000,
  });
  log.info('nats.connected', { server: nc.getServer() });
  logStatus(nc, log).catch((err: unknown) => log.warn('nats.status_watch_failed', { error: err }));
  return nc;
}
