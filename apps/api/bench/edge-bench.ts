import { connectNats, ensureClusterResources } from '@mnist/cluster';
import { S3Store } from '@mnist/storage';
import { S3RVER_CREDENTIALS, startNatsServer, startS3Server } from '@mnist/testing';
import { spawnEdgeApi, type EdgeApiProcess } from '../test/edge-harness.js';

/**
 * `npm run bench:edge [-- --requests N --jobs J]`: per-request latency of the edge API in
 * its two modes, measured in the same run against the same nats-server (websocket) and
 * s3rver: the Durable Object that holds one NATS connection, and the per-request-connection
 * fallback. Requests alternate between the modes (one at a time), so load on the machine
 * hits both alike. Prints JSON: median and p90 in ms per mode and route, and the ratio.
 */
const arg = (name: string, fallback: number) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
};
const REQUESTS = arg('requests', 100);
const JOBS = arg('jobs', 20);
const TOKEN = 'edge-bench-token-0123456789abcdef';
const AUTH = { Authorization: `Bearer ${TOKEN}` };

const nats = await startNatsServer({ websocket: true });
const s3 = await startS3Server();
const edges: EdgeApiProcess[] = [];
try {
  // What the trainers do at start-up: the edge creates no broker resources or bucket.
  const nc = await connectNats({ servers: [nats.url], name: 'bench-setup' });
  await ensureClusterResources(nc);
  await nc.close();
  const store = await S3Store.connect({
    bucket: s3.env.S3_BUCKET!,
    region: s3.env.S3_REGION!,
    endpoint: s3.endpoint,
    forcePathStyle: true,
    credentials: S3RVER_CREDENTIALS,
  });
  await store.ensureBucket();
  store.destroy();

  const env = { ...s3.env, NATS_URL: nats.wsUrl!, API_TOKEN: TOKEN, LOG_LEVEL: 'warn' };
  const hub = await spawnEdgeApi({ ...env, EDGE_MODE: 'durable-object' });
  edges.push(hub);
  const perRequest = await spawnEdgeApi({ ...env, EDGE_MODE: 'per-request' });
  edges.push(perRequest);

  // Jobs to list (parked: no trainers), submitted through the hub.
  let jobId = '';
  for (let i = 0; i < JOBS; i++) {
    const res = await fetch(`${hub.url}/v1/jobs`, {
      method: 'POST',
      headers: { ...AUTH, 'Content-Type': 'application/json' },
      body: JSON.stringify({ model: 'mlp', epochs: 1, seed: i }),
    });
    if (res.status !== 201) throw new Error(`submit: ${res.status} ${await res.text()}`);
    jobId = ((await res.json()) as { id: string }).id;
  }

  const routes = { 'GET /v1/jobs': '/v1/jobs', 'GET /v1/jobs/:id': `/v1/jobs/${jobId}` };
  const modes = { 'durable-object': hub.url, 'per-request': perRequest.url };
  const once = async (url: string) => {
    const t0 = performance.now();
    const res = await fetch(url, { headers: AUTH });
    await res.arrayBuffer();
    if (res.status !== 200) throw new Error(`${url}: ${res.status}`);
    return performance.now() - t0;
  };
  const samples: Record<string, Record<string, number[]>> = {};
  for (const [route, path] of Object.entries(routes)) {
    for (const base of Object.values(modes)) for (let i = 0; i < 5; i++) await once(base + path); // warm-up
    for (let i = 0; i < REQUESTS; i++) {
      for (const [mode, base] of Object.entries(modes))
        ((samples[route] ??= {})[mode] ??= []).push(await once(base + path));
    }
  }
  const quantile = (xs: number[], q: number) => {
    const s = [...xs].sort((a, b) => a - b);
    return s[Math.min(s.length - 1, Math.floor(q * s.length))]!;
  };
  const round = (x: number) => Math.round(x * 100) / 100;
  const result = Object.fromEntries(
    Object.entries(samples).map(([route, byMode]) => {
      const stats = Object.fromEntries(
        Object.entries(byMode).map(([mode, xs]) => [
          mode,
          { medianMs: round(quantile(xs, 0.5)), p90Ms: round(quantile(xs, 0.9)) },
        ]),
      );
      return [
        route,
        {
          ...stats,
          perRequestOverDurableObject: round(
            quantile(byMode['per-request']!, 0.5) / quantile(byMode['durable-object']!, 0.5),
          ),
        },
      ];
    }),
  );
  process.stdout.write(
    JSON.stringify(
      { requests: REQUESTS, jobs: JOBS, runtime: 'workerd via wrangler dev --local', results: result },
      null,
      2,
    ) + '\n',
  );
} finally {
  for (const e of edges) await e.stop();
  await nats.stop();
  await s3.stop();
}
