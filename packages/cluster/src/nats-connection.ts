import type { ConnectionOptions, NatsConnection } from '@nats-io/nats-core';
import type { Logger } from '@mnist/core';
import { splitNatsAuth } from './nats-auth.js';

/** What both transports (TCP: connectNats, WebSocket: connectNatsWs) are given. */
export interface ConnectOptions {
  /** May carry credentials: `nats://user:pass@host:4222` or `nats://token@host:4222`. */
  servers: string[];
  /** Shown in the server's connection list (`nats server report connections`). */
  name: string;
  log?: Logger;
  /** Pause between reconnect attempts, ms. */
  reconnectTimeWaitMs?: number;
}

/** The client options both transports share. */
export function commonOptions(o: ConnectOptions): ConnectionOptions {
  return {
    ...splitNatsAuth(o.servers),
    name: o.name,
    reconnectTimeWait: o.reconnectTimeWaitMs ?? 500,
    // Notice a silently dead server or a cut link (no TCP reset) within 6-9 s, well inside a
    // trainer's TTL (15 s): with 30 s, a partitioned node held its clients' writes for over a
    // minute and their jobs lost the attempt (apps/trainer/test/partition.test.ts).
    pingInterval: 3_000,
    maxPingOut: 2,
  };
}

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
