import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ConfigError } from '@mnist/core';
import { EDGE_VARIABLES, parseEdgeEnv } from '../src/edge/config.js';

/**
 * `npm run api:edge`: the Worker (src/edge.ts) in workerd through `wrangler dev --local`,
 * on PORT (default 8787) and HOST, with the same environment as `npm run api` handed to
 * it as bindings (an env file in a private temporary folder, so secrets stay off the
 * command line). Checked here first, so a bad variable stops it at once (exit 2), as the
 * Node API does. SIGTERM/SIGINT stop wrangler and workerd.
 */
const API_DIR = join(dirname(fileURLToPath(import.meta.url)), '..');
const WRANGLER = createRequire(import.meta.url).resolve('wrangler/bin/wrangler.js');

const env = process.env;
try {
  parseEdgeEnv(env);
} catch (err) {
  if (!(err instanceof ConfigError)) throw err;
  process.stderr.write(`api:edge: ${err.message}\n`);
  process.exit(2);
}

const port = env.PORT || '8787';
const host = env.HOST || '127.0.0.1';
const tmp = mkdtempSync(join(tmpdir(), 'mnist-edge-'));
const quote = (v: string) => `"${v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')}"`;
const vars = EDGE_VARIABLES.flatMap((k) => (env[k] === undefined ? [] : [[k, env[k]] as const]));
writeFileSync(join(tmp, 'bindings.env'), vars.map(([k, v]) => `${k}=${quote(v!)}`).join('\n') + '\n', { mode: 0o600 });

const child = spawn(
  process.execPath,
  [
    WRANGLER,
    'dev',
    '--local',
    '--config',
    join(API_DIR, 'wrangler.toml'),
    '--port',
    port,
    '--ip',
    host,
    '--env-file',
    join(tmp, 'bindings.env'),
    '--persist-to',
    join(tmp, 'state'),
    '--show-interactive-dev-session=false',
    '--log-level',
    env.WRANGLER_LOG ?? 'info',
  ],
  { cwd: API_DIR, stdio: 'inherit', env: { ...env, WRANGLER_SEND_METRICS: 'false' } },
);
const cleanup = () => rmSync(tmp, { recursive: true, force: true });
for (const sig of ['SIGTERM', 'SIGINT'] as const) process.on(sig, () => child.kill(sig));
child.on('exit', (code, signal) => {
  cleanup();
  process.exit(code ?? (signal ? 0 : 1));
});
