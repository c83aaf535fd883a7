import { createLogger } from '@mnist/core';
import { parseEdgeEnv, type EdgeBindings } from './config.js';
import { levelOf } from './hub.js';
import { openLiveApi, type LiveApi } from './live.js';
import { unavailable } from './unavailable.js';
import type { ExecutionContext } from './workers.js';

/**
 * The fallback without Durable Objects (EDGE_MODE=per-request): each request opens its own
 * connection and view, and closes them once its response body has been sent (an event
 * stream: when it ends or its client goes away). A connection cannot outlive its request
 * in a Worker ("Cannot perform I/O on behalf of a different request"), so nothing is
 * cached; every request pays for the connect and the view's initial read.
 */
export async function servePerRequest(request: Request, env: EdgeBindings, ctx: ExecutionContext): Promise<Response> {
  const log = createLogger({ app: 'api-edge', mode: 'per-request' }, { level: levelOf(env) });
  let live: LiveApi;
  try {
    live = await openLiveApi(parseEdgeEnv(env), { log, reconcile: false });
  } catch (err) {
    return unavailable(err, log);
  }
  const res = await live.fetch(request);
  if (!res.body) {
    ctx.waitUntil(live.close());
    return res;
  }
  const { readable, writable } = new TransformStream<Uint8Array, Uint8Array>();
  ctx.waitUntil(
    res.body
      .pipeTo(writable)
      .catch(() => undefined)
      .finally(() => live.close()),
  );
  return new Response(readable, res);
}
