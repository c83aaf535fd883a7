import type { NatsConnection } from '@nats-io/nats-core';
import type { Logger } from '@mnist/core';

/** Logs a connection's status changes as structured lines, until it closes. */
export async function logStatus(nc: NatsConnection, log: Logger): Promise<void> {
  for await (const s of nc.status()) {
    switch (s.type) {
      case 'disconnect':
        log.warn('nats.disconnected', { server: s.server });
        break;
      case 'reconnect':
        log.info('nats.reconnected', { server: s.server });
        break;
      case 'error':
        log.warn('nats.error', { error: s.error });
        break;
      case 'slowConsumer':
        log.warn('nats.slow_consumer', { subject: s.sub.getSubject(), pending: s.pending });
        break;
      case 'staleConnection':
        log.warn('nats.stale_connection');
        break;
      default:
        break;
    }
  }
}
