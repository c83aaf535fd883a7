import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { JOB_STATES } from './cluster.js';

/**
 * Job records change only through the named transitions of job-transitions.ts, executed
 * by JobStore.transition. This searches the product code of the whole tree (tests may
 * build records as they like) for any other way to make or write one.
 */
const ROOT = join(import.meta.dirname, '../../..');
const OWNER = 'packages/protocol/src/job-transitions.ts';
const JOB_ONLY_STATES = JOB_STATES.join('|');

const FORBIDDEN: { what: string; pattern: RegExp; allowedIn?: string[] }[] = [
  // { ...record, state: 'failed' }: a transition written in place.
  {
    what: 'a record spread with a new state',
    pattern: new RegExp(`\\{\\s*\\.\\.\\.[\\w.]+\\s*,[^}]*\\bstate:\\s*'(${JOB_ONLY_STATES})'`),
  },
  { what: 'a state assigned in place', pattern: new RegExp(`\\.state\\s*=\\s*'(${JOB_ONLY_STATES})'`) },
  { what: 'finishedAt stamped outside a transition', pattern: /\bfinishedAt:(?!\s*z\.)/ },
  {
    what: 'a function given to JobStore.transition',
    pattern: /\.transition\(\s*[^,()]+,\s*(\(|async\b|function\b|\w+\s*=>)/,
  },
  { what: 'a JobTransition made by a cast', pattern: /as\s+(unknown\s+as\s+)?JobTransition\b/ },
  // The jobs bucket is opened by the cluster client (JobStore, the view) and created with the resources, nowhere else.
  {
    what: 'the jobs bucket opened',
    pattern: /NATS_NAMES\.jobsBucket/,
    allowedIn: ['packages/cluster/src/cluster-client.ts', 'packages/cluster/src/resources.ts'],
  },
];

function productFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const path = join(dir, e.name);
    if (e.isDirectory())
      return ['node_modules', 'test', 'bench', 'dist', 'build'].includes(e.name) ? [] : productFiles(path);
    return e.name.endsWith('.ts') && !e.name.endsWith('.test.ts') && !e.name.endsWith('.d.ts') ? [path] : [];
  });
}

const sources = ['apps', 'packages', 'tools'].flatMap((top) =>
  readdirSync(join(ROOT, top), { withFileTypes: true })
    .filter((e) => e.isDirectory())
    .flatMap((e) => productFiles(join(ROOT, top, e.name, 'src'))),
);

/** Every `what` found, as `file:line: what`. */
function findRecordWrites(files: { path: string; text: string }[]): string[] {
  const found: string[] = [];
  for (const { path, text } of files) {
    if (path === OWNER) continue;
    for (const f of FORBIDDEN) {
      if (f.allowedIn?.includes(path)) continue;
      const m = f.pattern.exec(text);
      if (m) found.push(`${path}:${text.slice(0, m.index).split('\n').length}: ${f.what}`);
    }
  }
  return found;
}

describe('job records', () => {
  it('are changed only by the named transitions, nowhere else in the tree', () => {
    expect(sources.length).toBeGreaterThan(100);
    const files = sources.map((p) => ({ path: relative(ROOT, p), text: readFileSync(p, 'utf8') }));
    expect(findRecordWrites(files)).toEqual([]);
  });

  it('the search finds each kind of write it forbids', () => {
    const samples = [
      "transition(id, (r) => ({ ...r, state: 'failed', message }))",
      "rec.state = 'running';",
      'const next = { finishedAt: new Date().toISOString() };',
      'await jobs.transition(id, (r) => r);',
      'const t = { name: "claim", apply } as unknown as JobTransition;',
      'kvm.open(NATS_NAMES.jobsBucket)',
    ];
    const found = samples.map((text, i) => findRecordWrites([{ path: `x${i}.ts`, text }]));
    for (const f of found) expect(f.length).toBeGreaterThan(0);
    expect(
      findRecordWrites([{ path: 'y.ts', text: "ctx.state.set({ kind: 'busy' }); const s = { ...t, state: 'idle' };" }]),
    ).toEqual([]);
  });
});
