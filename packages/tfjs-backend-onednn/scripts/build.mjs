#!/usr/bin/env node
// Builds the native addon with node-gyp. Used as this package's `install` script (npm
// runs it for workspace packages during `npm ci` / `npm install` at the root) and as its
// `build` script (turbo). The addon is optional: if it cannot be built here (no
// compiler, no libdnnl headers, no Node headers), this prints one warning, records the
// reason in build/unavailable.txt for onednnAvailability(), and exits 0, so installs
// never fail because of it. `--strict` (or TFJS_ONEDNN_STRICT=1) makes a failed build
// an error instead, for CI machines that must have the backend.
//
// Plain .mjs on purpose: it runs before the workspace's TypeScript tooling exists.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const buildDir = join(root, 'build');
const notePath = join(buildDir, 'unavailable.txt');
const addonPath = join(buildDir, 'Release', 'tfjs_onednn.node');
const strict = process.argv.includes('--strict') || process.env.TFJS_ONEDNN_STRICT === '1';

function unavailable(reason) {
  mkdirSync(buildDir, { recursive: true });
  writeFileSync(notePath, `${reason}\n`);
  rmSync(addonPath, { force: true });
  const message = `@mnist/tfjs-backend-onednn: native addon not built, the onednn backend is unavailable: ${reason}`;
  if (strict) {
    console.error(message);
    process.exit(1);
  }
  console.warn(message);
  process.exit(0);
}

if (process.env.TFJS_ONEDNN_SKIP_BUILD === '1') unavailable('build skipped (TFJS_ONEDNN_SKIP_BUILD=1)');

/** npm's own node-gyp (npm sets npm_config_node_gyp for scripts), else a resolvable one. */
function findNodeGyp() {
  const candidates = [
    process.env.npm_config_node_gyp,
    join(dirname(process.execPath), '..', 'lib', 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'),
  ];
  for (const c of candidates) if (c && existsSync(c)) return c;
  try {
    return createRequire(import.meta.url).resolve('node-gyp/bin/node-gyp.js');
  } catch {
    return null;
  }
}

/** Headers of the running Node, when installed beside it (distro packages: /usr/include/node). */
function findNodeDir() {
  if (process.env.npm_config_nodedir) return null; // node-gyp reads it itself
  const prefix = join(dirname(process.execPath), '..');
  return existsSync(join(prefix, 'include', 'node', 'node_api.h')) ? prefix : null;
}

function has(command) {
  return spawnSync('sh', ['-c', `command -v ${command}`], { stdio: 'ignore' }).status === 0;
}

/** A short, specific reason for a failed build, from what is missing. */
function diagnose(log) {
  const cxx = process.env.CXX || 'c++';
  if (!has(cxx) && !has('g++') && !has('clang++')) return `no C++ compiler found (${cxx}, g++, clang++)`;
  if (!has('make')) return 'make not found';
  if (/dnnl\.hpp: No such file|dnnl\.hpp' file not found/.test(log)) {
    return 'oneDNN headers not found (dnnl.hpp); install libdnnl-dev';
  }
  if (/cannot find -ldnnl|library not found for -ldnnl/.test(log)) return 'libdnnl not found; install libdnnl-dev';
  const lines = log.trim().split('\n').filter((l) => /error/i.test(l));
  return `node-gyp failed: ${(lines.slice(0, 3).join(' | ') || log.trim().split('\n').slice(-3).join(' | ')).slice(0, 600)}`;
}

const nodeGyp = findNodeGyp();
if (!nodeGyp) unavailable('node-gyp not found (it ships with npm)');

const nodeDir = findNodeDir();
const gypArgs = nodeDir ? [`--nodedir=${nodeDir}`] : [];
const jobs = ['--jobs', 'max'];
// Configure once, then let make rebuild only what changed (a no-op when up to date).
const steps = existsSync(join(buildDir, 'Makefile'))
  ? [['build', ...jobs, ...gypArgs]]
  : [['configure', ...gypArgs], ['build', ...jobs, ...gypArgs]];

let log = '';
for (const args of steps) {
  const r = spawnSync(process.execPath, [nodeGyp, ...args], { cwd: root, encoding: 'utf8', env: process.env });
  log += `${r.stdout ?? ''}${r.stderr ?? ''}`;
  if (r.error) unavailable(`could not run node-gyp: ${r.error.message}`);
  if (r.status !== 0) {
    // A stale configuration (another Node, moved checkout) is the usual cause: retry clean once.
    if (args[0] === 'build' && steps.length === 1) {
      const clean = spawnSync(process.execPath, [nodeGyp, 'rebuild', ...jobs, ...gypArgs], {
        cwd: root, encoding: 'utf8', env: process.env,
      });
      log += `${clean.stdout ?? ''}${clean.stderr ?? ''}`;
      if (clean.status === 0) break;
    }
    unavailable(diagnose(log));
  }
}

// Load it once, so a broken libdnnl or ABI mismatch is reported now rather than at run time.
try {
  const addon = createRequire(import.meta.url)(addonPath);
  rmSync(notePath, { force: true });
  console.log(`@mnist/tfjs-backend-onednn: built ${addonPath} (oneDNN ${addon.version()})`);
} catch (err) {
  unavailable(`built, but the addon does not load: ${err.message}`);
}
