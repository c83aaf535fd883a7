import { wsconnect, type NatsConnection } from '@nats-io/nats-core';
import { silentLogger, type Logger } from '@mnist/core';
import { splitNatsAuth } from './nats-auth.js';
import { logStatus } from './nats-status.js';

export interface WsConnectOptions {
  /** `ws://` or `wss://` URLs of the broker's websocket listener; may carry credentials like NATS_URL. */
  servers: string[];
  name: string;
  log?: Logger;
  /** Give up on the first connect after this long (default 5 s): the caller answers 503. */
  timeoutMs?: number;
  /** Reconnect attempts after a drop before the connection closes for good (-1: unlimited; default 10). */
  maxReconnectAttempts?: number;
  reconnectTimeWaitMs?: number;
}

/**
 * NATS over WebSocket (runtimes without TCP sockets: Workers). Unlike connectNats it does
 * not wait for a server to appear: a request is waiting, so a failed connect throws and
 * the caller answers 503. Reconnects are bounded; once closed, the owner connects anew.
 */
export async function connectNatsWs(o: WsConnectOptions): Promise<NatsConnection> {
  const log = o.log ?? silentLogger;
  const nc = await wsconnect({
    ...splitNatsAuth(o.servers),
    name: o.name,
    timeout: o.timeoutMs ?? 5_000,
    maxReconnectAttempts: o.maxReconnectAttempts ?? 10,
    reconnectTimeWait: o.reconnectTimeWaitMs ?? 500,
    pingInterval: 10_000,
    maxPingOut: 3,
  });
  log.info('nats.connected', { server: nc.getServer(), transport: 'websocket' });
  logStatus(nc, log).catch((err: unknown) => log.warn('nats.status_watch_failed', { error: err }));
  return nc;
}
