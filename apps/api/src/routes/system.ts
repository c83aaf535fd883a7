import { Hono, type Context } from 'hono';
import type { ApiDeps } from '../deps.js';
import { HttpError } from '../http-error.js';

/** The dashboard's files: same-origin scripts and styles only, no inline code, no framing. */
const PAGE_HEADERS = {
  'Content-Security-Policy': [
    "default-src 'none'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",
    "connect-src 'self'",
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
  ].join('; '),
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
  'Cache-Control': 'no-cache',
} as const;

/** The files of the dashboard page: a static shell that holds no data; the data routes need the token. */
export const DASHBOARD_PATHS = ['/', '/dashboard.js', '/dashboard.css'] as const;

/** Health, trainers, Prometheus metrics and the dashboard. */
export function systemRoutes(deps: ApiDeps) {
  const asset = (c: Context, path: (typeof DASHBOARD_PATHS)[number]) => {
    const a = deps.assets?.[path];
    if (!a) throw HttpError.notFound('the dashboard is not installed on this server');
    return c.body(a.body, 200, { ...PAGE_HEADERS, 'Content-Type': a.contentType });
  };
  return new Hono()
    .get('/healthz', async (c) => {
      const report = (await deps.health?.()) ?? { ok: true, checks: {} };
      return c.json(report, report.ok ? 200 : 503);
    })
    .get('/v1/trainers', async (c) => c.json({ trainers: await deps.cluster.trainers.list() }, 200))
    .get('/metrics', async (c) => {
      if (!deps.metrics) throw HttpError.notFound('metrics are not enabled on this server');
      const { contentType, body } = await deps.metrics.render();
      return c.body(body, 200, { 'Content-Type': contentType, 'Cache-Control': 'no-store' });
    })
    .get('/', (c) => asset(c, '/'))
    .get('/dashboard.js', (c) => asset(c, '/dashboard.js'))
    .get('/dashboard.css', (c) => asset(c, '/dashboard.css'));
}
