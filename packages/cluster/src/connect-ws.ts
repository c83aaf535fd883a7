import { wsconnect, type NatsConnection } from '@nats-io/nats-core';
import { silentLogger } from '@mnist/core';
import { commonOptions, logStatus, type ConnectOptions } from './nats-connection.js';

export interface WsConnectOptions extends ConnectOptions {
  /** Give up on the first connect after this long (default 5 s): the caller answers 503. */
  timeoutMs?: number;
  /** Reconnect attempts after a drop before the connection closes for good (-1: unlimited; default 10). */
  maxReconnectAttempts?: number;
}

/**
 * NATS over WebSocket (`ws://`/`wss://`; runtimes without TCP sockets: Workers). Unlike
 * connectNats it does not wait for a server to appear: a request is waiting, so a failed
 * connect throws and the caller answers 503. Reconnects are bounded; once closed, the
 * owner connects anew.
 */
export async function connectNatsWs(o: WsConnectOptions): Promise<NatsConnection> {
  const log = o.log ?? silentLogger;
  const nc = await wsconnect({
    ...commonOptions(o),
    timeout: o.timeoutMs ?? 5_000,
    maxReconnectAttempts: o.maxReconnectAttempts ?? 10,
  });
  log.info('nats.connected', { server: nc.getServer(), transport: 'websocket' });
  logStatus(nc, log).catch((err: unknown) => log.warn('nats.status_watch_failed', { error: err }));
  return nc;
}
