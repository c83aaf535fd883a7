import type { EdgeBindings } from './edge/config.js';
import { withBufferedBody } from './edge/buffer-body.js';
import { ClusterHub } from './edge/hub.js';
import { servePerRequest } from './edge/per-request.js';
import type { ExecutionContext } from './edge/workers.js';

/**
 * The API as a Cloudflare Worker (apps/api/wrangler.toml; `npm run api:edge` runs it in
 * workerd). The same app as node.ts, over NATS on WebSocket and S3 on fetch. Every request
 * goes to one Durable Object, ClusterHub, which holds the long-lived NATS connection;
 * EDGE_MODE=per-request connects per request instead (the fallback without Durable Objects).
 */
export { ClusterHub };

/** Mode by binding only (a bad configuration is answered by the hub or the per-request path as 503). */
const perRequest = (env: EdgeBindings) => env.EDGE_MODE === 'per-request';

export default {
  async fetch(request: Request, env: EdgeBindings, ctx: ExecutionContext): Promise<Response> {
    if (perRequest(env)) return servePerRequest(request, env, ctx);
    return env.CLUSTER_HUB.get(env.CLUSTER_HUB.idFromName('cluster')).fetch(await withBufferedBody(request));
  },
};
