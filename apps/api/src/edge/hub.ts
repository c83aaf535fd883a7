import { createLogger, type Logger } from '@mnist/core';
import { parseEdgeEnv, type EdgeBindings } from './config.js';
import { openLiveApi, type LiveApi } from './live.js';
import { unavailable } from './unavailable.js';
import type { DurableObjectState } from './workers.js';

/**
 * The Durable Object every request goes through: it owns the one long-lived NATS
 * connection (a Worker cannot keep I/O across requests; an object can), with the watched
 * view and the reconciler on it. After the connection closes for good it is rebuilt on
 * the next request; while that fails, requests get 503 with the reason. An event stream
 * whose client goes away is cancelled through the response body, which ends its follow and
 * deletes its broker consumer.
 */
export class ClusterHub {
  private live: Promise<LiveApi> | undefined;
  private readonly log: Logger;

  constructor(
    _state: DurableObjectState,
    private readonly env: EdgeBindings,
  ) {
    this.log = createLogger({ app: 'api-edge', mode: 'durable-object' }, { level: levelOf(env) });
  }

  async fetch(request: Request): Promise<Response> {
    let live: LiveApi;
    try {
      live = await this.connect();
    } catch (err) {
      return unavailable(err, this.log);
    }
    return live.fetch(request);
  }

  private connect(): Promise<LiveApi> {
    if (this.live) return this.live;
    const attempt = (async () => openLiveApi(parseEdgeEnv(this.env), { log: this.log, reconcile: true }))();
    this.live = attempt;
    const forget = () => {
      if (this.live === attempt) this.live = undefined;
    };
    attempt
      .then(async (l) => {
        await l.closed;
        this.log.warn('edge.connection_closed');
      })
      .catch(() => undefined) // a failed connect was answered (503) by the request that made it
      .finally(forget)
      .catch(() => undefined);
    return attempt;
  }
}

export function levelOf(env: Record<string, unknown>) {
  const v = env.LOG_LEVEL;
  return v === 'debug' || v === 'warn' || v === 'error' ? v : 'info';
}
