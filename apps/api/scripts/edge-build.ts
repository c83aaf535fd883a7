import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';

/**
 * `npm run build:edge [-- --outdir DIR]`: bundles the Worker exactly as `wrangler deploy`
 * would (--dry-run, minified) and prints its size as JSON: the script, the embedded
 * dashboard files, and the gzipped total that Cloudflare's size limit counts.
 */
const API_DIR = join(dirname(fileURLToPath(import.meta.url)), '..');
const WRANGLER = createRequire(import.meta.url).resolve('wrangler/bin/wrangler.js');

const at = process.argv.indexOf('--outdir');
const outdir =
  at > 0 && process.argv[at + 1] ? process.argv[at + 1]! : mkdtempSync(join(tmpdir(), 'mnist-edge-build-'));
const r = spawnSync(
  process.execPath,
  [WRANGLER, 'deploy', '--dry-run', '--minify', '--outdir', outdir, '--config', join(API_DIR, 'wrangler.toml')],
  {
    cwd: API_DIR,
    encoding: 'utf8',
    env: { ...process.env, WRANGLER_SEND_METRICS: 'false' },
  },
);
if (r.status !== 0) {
  process.stderr.write(r.stdout + r.stderr);
  process.exit(r.status ?? 1);
}
const files = readdirSync(outdir).filter((f) => !f.endsWith('.map') && f !== 'README.md');
const sizes = Object.fromEntries(
  files.map((f) => [f.replace(/^[0-9a-f]{40}-/, ''), readFileSync(join(outdir, f)).length]),
);
// wrangler's own figure, the one Cloudflare's Worker size limit is checked against.
const upload = /Total Upload: ([\d.]+) KiB \/ gzip: ([\d.]+) KiB/.exec(r.stdout);
const all = Buffer.concat(files.map((f) => readFileSync(join(outdir, f))));
process.stdout.write(
  JSON.stringify(
    {
      entry: 'apps/api/src/edge.ts',
      minified: true,
      bytes: sizes,
      totalBytes: all.length,
      gzipBytes: gzipSync(all).length,
      ...(upload && { wranglerUploadKiB: Number(upload[1]), wranglerGzipKiB: Number(upload[2]) }),
      outdir: at > 0 ? outdir : undefined,
    },
    null,
    2,
  ) + '\n',
);
if (at < 0) rmSync(outdir, { recursive: true, force: true });
