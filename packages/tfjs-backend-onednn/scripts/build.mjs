#!/usr/bin/env node
// Builds the native addon with node-gyp. Used as this package's `install` script (npm
// runs it for workspace packages during `npm ci` / `npm install` at the root) and as its
// `build` script (turbo).
//
// Two builds of the same kernels, side by side in build/Release:
// - tfjs_portable.node needs only a C++ compiler: its convolutions and matrix products
//   are our own (im2col + a blocked, vectorised GEMM). Always built.
// - tfjs_onednn.node uses oneDNN (libdnnl) for them. Built when oneDNN's headers are
//   found, unless TFJS_ONEDNN_PORTABLE=1. If it fails to build, the reason goes to
//   build/onednn-unavailable.txt and the portable build is still made.
// The loader (src/native.ts) takes the oneDNN build when it loads, else the portable one.
//
// oneDNN comes from the compiler's default paths (Debian's libdnnl-dev), or from the
// install prefix in DNNL_ROOT (say a oneDNN 3.x built from source into /opt/onednn3):
// its include/ is searched first, and its lib/ (or lib64/) is linked and recorded as
// the addon's run path, so the addon loads that libdnnl without LD_LIBRARY_PATH.
//
// The addon is optional: if neither can be built here (no compiler, no Node headers),
// this prints one warning, records the reason in build/unavailable.txt for
// onednnAvailability(), and exits 0, so installs never fail because of it. `--strict`
// (or TFJS_ONEDNN_STRICT=1) makes a failed build an error instead, for CI machines that
// must have the backend.
//
// Plain .mjs on purpose: it runs before the workspace's TypeScript tooling exists.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const buildDir = join(root, 'build');
const notePath = join(buildDir, 'unavailable.txt');
const onednnNotePath = join(buildDir, 'onednn-unavailable.txt');
const choicePath = join(buildDir, 'with_dnnl.txt');
const addonPaths = {
  onednn: join(buildDir, 'Release', 'tfjs_onednn.node'),
  portable: join(buildDir, 'Release', 'tfjs_portable.node'),
};
const strict = process.argv.includes('--strict') || process.env.TFJS_ONEDNN_STRICT === '1';

/**
 * A oneDNN install prefix to build against instead of the system's (DNNL_ROOT), or null.
 * `missing` says what it lacks: the compiler and linker would otherwise quietly take the
 * system's headers or library instead (and mixing 3.x headers with a 2.x library builds).
 */
function dnnlPrefix() {
  const rootDir = process.env.DNNL_ROOT;
  if (!rootDir) return null;
  const prefix = resolve(rootDir);
  const include = join(prefix, 'include');
  const hasLib = (dir) => existsSync(dir) && readdirSync(dir).some((f) => /^libdnnl\.(so|dylib)/.test(f));
  const lib = ['lib', 'lib64'].map((d) => join(prefix, d)).find(hasLib);
  const missing = !existsSync(join(include, 'dnnl.hpp'))
    ? 'include/dnnl.hpp'
    : !lib
      ? 'lib/libdnnl.so (or lib64/)'
      : null;
  return { prefix, include, lib, missing };
}
const dnnl = dnnlPrefix();
const dnnlWhere = dnnl ? ` under DNNL_ROOT=${dnnl.prefix}` : '';
const dnnlFix = dnnl
  ? `; DNNL_ROOT must be a oneDNN install prefix (include/dnnl.hpp, lib/libdnnl.so)`
  : '; install libdnnl-dev';
const NO_HEADERS = `oneDNN headers not found (dnnl.hpp)${dnnlWhere}${dnnlFix}`;

/** The version in DNNL_ROOT's headers ("3.13.1"), to check that the built addon loads that library. */
function dnnlHeaderVersion() {
  const path = join(dnnl.include, 'oneapi', 'dnnl', 'dnnl_version.h');
  if (!existsSync(path)) return null;
  const text = readFileSync(path, 'utf8');
  const part = (name) => text.match(new RegExp(`#define DNNL_VERSION_${name} (\\d+)`))?.[1];
  return ['MAJOR', 'MINOR', 'PATCH'].map(part).join('.');
}

function unavailable(reason) {
  mkdirSync(buildDir, { recursive: true });
  writeFileSync(notePath, `${reason}\n`);
  for (const path of Object.values(addonPaths)) rmSync(path, { force: true });
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
    join(
      dirname(process.execPath),
      '..',
      'lib',
      'node_modules',
      'npm',
      'node_modules',
      'node-gyp',
      'bin',
      'node-gyp.js',
    ),
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
    return NO_HEADERS;
  }
  if (/cannot find -ldnnl|library not found for -ldnnl/.test(log)) return `libdnnl not found${dnnlWhere}${dnnlFix}`;
  const lines = log
    .trim()
    .split('\n')
    .filter((l) => /error/i.test(l));
  const shown = lines.slice(0, 3).join(' | ') || log.trim().split('\n').slice(-3).join(' | ');
  return `node-gyp failed: ${shown.slice(0, 600)}`;
}

/** Whether the compiler finds oneDNN's C++ header. */
function hasOnednnHeaders() {
  const cxx = process.env.CXX || 'c++';
  const include = dnnl ? ['-I', dnnl.include] : [];
  const r = spawnSync(cxx, ['-E', '-x', 'c++', ...include, '-', '-o', '/dev/null'], {
    input: '#include <dnnl.hpp>\n',
    encoding: 'utf8',
  });
  return r.status === 0;
}

const nodeGyp = findNodeGyp();
if (!nodeGyp) unavailable('node-gyp not found (it ships with npm)');

const nodeDir = findNodeDir();
const gypArgs = nodeDir ? [`--nodedir=${nodeDir}`] : [];
const jobs = ['--jobs', 'max'];

let log = '';
function gyp(args) {
  const r = spawnSync(process.execPath, [nodeGyp, ...args], { cwd: root, encoding: 'utf8', env: process.env });
  log += `${r.stdout ?? ''}${r.stderr ?? ''}`;
  if (r.error) unavailable(`could not run node-gyp: ${r.error.message}`);
  return r.status === 0;
}

/** Configures for this choice of targets (once; again when it changes), then builds. */
function build(withDnnl) {
  const defines = [`-Dwith_dnnl=${withDnnl ? 1 : 0}`];
  if (withDnnl && dnnl) defines.push(`-Ddnnl_include=${dnnl.include}`, `-Ddnnl_lib=${dnnl.lib}`);
  // The system oneDNN's choice reads "1" (or "0"), as before DNNL_ROOT existed.
  const choice = withDnnl && dnnl ? `1 ${dnnl.include} ${dnnl.lib}` : String(withDnnl ? 1 : 0);
  const configured =
    existsSync(join(buildDir, 'Makefile')) && existsSync(choicePath) && readFileSync(choicePath, 'utf8') === choice;
  const configure = () => gyp(['configure', ...gypArgs, '--', ...defines]) && (writeFileSync(choicePath, choice), true);
  if (!configured && !configure()) return false;
  if (gyp(['build', ...jobs, ...gypArgs])) return true;
  // A stale configuration (another Node, moved checkout) is the usual cause: retry clean once.
  if (!configured) return false;
  rmSync(choicePath, { force: true });
  return gyp(['clean']) && configure() && gyp(['build', ...jobs, ...gypArgs]);
}

/** Loads an addon in a child process (a broken libdnnl must not take this one down). */
function check(path) {
  const r = spawnSync(process.execPath, ['-e', `console.log(require(${JSON.stringify(path)}).version())`], {
    encoding: 'utf8',
  });
  return r.status === 0
    ? { ok: true, version: r.stdout.trim() }
    : {
        ok: false,
        reason: (
          r.stderr
            .trim()
            .split('\n')
            .find((l) => /Error/.test(l)) ?? r.stderr.trim()
        ).slice(0, 300),
      };
}

let onednnReason = null;
if (process.env.TFJS_ONEDNN_PORTABLE === '1') onednnReason = 'not built: TFJS_ONEDNN_PORTABLE=1';
else if (dnnl?.missing) onednnReason = `oneDNN not found: no ${dnnl.missing}${dnnlWhere}${dnnlFix}`;
else if (!hasOnednnHeaders()) onednnReason = NO_HEADERS;

let built = onednnReason === null && build(true);
if (onednnReason === null && !built) {
  onednnReason = diagnose(log);
  log = '';
}
if (!built) {
  rmSync(addonPaths.onednn, { force: true });
  built = build(false);
}
if (!built) unavailable(diagnose(log));

// Load them once, so a broken libdnnl or ABI mismatch is reported now rather than at run time.
const portable = check(addonPaths.portable);
if (!portable.ok) unavailable(`built, but the addon does not load: ${portable.reason}`);
rmSync(notePath, { force: true });
if (onednnReason === null) {
  const onednn = check(addonPaths.onednn);
  const headers = dnnl ? dnnlHeaderVersion() : null;
  if (!onednn.ok) onednnReason = `built, but it does not load: ${onednn.reason}`;
  else if (headers && onednn.version !== headers) {
    // Another libdnnl than DNNL_ROOT's answered (LD_LIBRARY_PATH, say): its ABI may differ.
    onednnReason = `built against oneDNN ${headers}${dnnlWhere}, but it loads libdnnl ${onednn.version}`;
    rmSync(addonPaths.onednn, { force: true });
  }
}
if (onednnReason === null) {
  rmSync(onednnNotePath, { force: true });
  const version = `oneDNN ${check(addonPaths.onednn).version}${dnnl ? ` from ${dnnl.lib}` : ''}`;
  console.log(`@mnist/tfjs-backend-onednn: built ${addonPaths.onednn} (${version}) and ${addonPaths.portable}`);
} else {
  writeFileSync(onednnNotePath, `${onednnReason}\n`);
  console.log(
    `@mnist/tfjs-backend-onednn: built ${addonPaths.portable} (portable kernels; oneDNN build: ${onednnReason})`,
  );
}
