import type { Asset } from '../deps.js';
// Embedded as text modules (wrangler.toml [[rules]] type "Text"): the Worker serves them
// through the app's routes, so they keep the dashboard's CSP headers.
import indexHtml from '../../public/index.html';
import dashboardJs from '../../public/dashboard.js';
import dashboardCss from '../../public/dashboard.css';

export const DASHBOARD_ASSETS: Readonly<Record<string, Asset>> = {
  '/': { contentType: 'text/html; charset=utf-8', body: indexHtml },
  '/dashboard.js': { contentType: 'text/javascript; charset=utf-8', body: dashboardJs },
  '/dashboard.css': { contentType: 'text/css; charset=utf-8', body: dashboardCss },
};
