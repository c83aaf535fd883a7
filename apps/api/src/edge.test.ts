import { describe, expect, it } from 'vitest';
import { build, type Plugin } from 'esbuild';
import { readFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const BUILTIN = new RegExp(`^(node:.*|${builtinModules.map((m) => m.replace(/[/]/g, '\\/')).join('|')})(\\/.*)?$`);
const SRC = dirname(fileURLToPath(import.meta.url));
const API_DIR = join(SRC, '..');

/** wrangler.toml's [alias] table: the bundle is checked as wrangler builds it. */
function wranglerAliases(toml = readFileSync(join(API_DIR, 'wrangler.toml'), 'utf8')): Record<string, string> {
  const section = /^\[alias\]\n((?:(?!\[).*\n)*)/m.exec(toml)?.[1] ?? '';
  return Object.fromEntries(
    [...section.matchAll(/^"?([\w@/.-]+)"?\s*=\s*"([^"]+)"/gm)].map((m) => [m[1]!, resolve(API_DIR, m[2]!)]),
  );
}

/** Bundles a module for a runtime without Node built-ins; returns the built-ins it would need. */
async function nodeImportsOf(entry: string, alias: Record<string, string> = {}): Promise<string[]> {
  const needed = new Set<string>();
  const noNode: Plugin = {
    name: 'no-node',
    setup(b) {
      b.onResolve({ filter: BUILTIN }, (args) => {
        if (alias[args.path]) return { path: alias[args.path] };
        const from = args.importer.replace(/^.*node_modules\//, '').replace(/^.*\/(apps|packages|tools)\//, '$1/');
        needed.add(`${args.path} (from ${from})`);
        return { path: args.path, external: true };
      });
    },
  };
  await build({
    entryPoints: [entry],
    bundle: true,
    write: false,
    format: 'esm',
    platform: 'neutral',
    mainFields: ['module', 'main'],
    conditions: ['workerd', 'worker', 'browser', 'import'],
    // The dashboard's files are text modules (wrangler.toml [[rules]]).
    loader: { '.html': 'text', '.css': 'text' },
    logLevel: 'silent',
    plugins: [
      noNode,
      {
        name: 'dashboard-text',
        setup: (b) =>
          b.onLoad({ filter: /\/public\/dashboard\.js$/ }, (a) => ({
            contents: readFileSync(a.path, 'utf8'),
            loader: 'text',
          })),
      },
    ],
  });
  return [...needed];
}

describe('the edge bundle', () => {
  it("src/edge.ts (the Worker) reaches no Node built-in, with wrangler.toml's aliases", async () => {
    expect(await nodeImportsOf(join(SRC, 'edge.ts'), wranglerAliases())).toEqual([]);
  });

  it('app.ts reaches none either', async () => {
    expect(await nodeImportsOf(join(SRC, 'app.ts'), wranglerAliases())).toEqual([]);
  });

  it("the check notices a Node import: node.ts has several, and the alias is what removes tweetnacl's", async () => {
    expect((await nodeImportsOf(join(SRC, 'node.ts'))).length).toBeGreaterThan(0);
    expect(await nodeImportsOf(join(SRC, 'edge.ts'))).toEqual(['crypto (from tweetnacl/nacl-fast.js)']);
  });

  it('reads the aliases wrangler uses', () => {
    expect(wranglerAliases()).toEqual({ crypto: join(SRC, 'edge', 'no-node-crypto.ts') });
    expect(wranglerAliases('[alias]\n"a" = "./x.ts"\nb = "y.ts"\n\n[vars]\nc = "z"\n')).toEqual({
      a: resolve(API_DIR, 'x.ts'),
      b: resolve(API_DIR, 'y.ts'),
    });
  });
});
