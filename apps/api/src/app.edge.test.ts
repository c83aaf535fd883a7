import { describe, expect, it } from 'vitest';
import { build } from 'esbuild';
import { builtinModules } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const BUILTIN = new RegExp(`^(node:.*|${builtinModules.map((m) => m.replace(/[/]/g, '\\/')).join('|')})(\\/.*)?$`);
const APP = join(dirname(fileURLToPath(import.meta.url)), 'app.ts');

/** Bundles a module for a runtime without Node built-ins; returns the built-ins it would need. */
async function nodeImportsOf(entry: string): Promise<string[]> {
  const needed = new Set<string>();
  await build({
    entryPoints: [entry],
    bundle: true,
    write: false,
    format: 'esm',
    platform: 'neutral',
    mainFields: ['module', 'main'],
    conditions: ['workerd', 'worker', 'browser', 'import'],
    logLevel: 'silent',
    plugins: [
      {
        name: 'no-node',
        setup(b) {
          b.onResolve({ filter: BUILTIN }, (args) => {
            needed.add(`${args.path} (from ${args.importer.replace(/^.*node_modules\//, '').replace(/^.*\/(apps|packages)\//, '$1/')})`);
            return { path: args.path, external: true };
          });
        },
      },
    ],
  });
  return [...needed];
}

describe('app.ts', () => {
  it('bundles for an edge runtime: no Node built-in anywhere in its import graph', async () => {
    expect(await nodeImportsOf(APP)).toEqual([]);
  });

  it('the check notices a Node import (node.ts has several)', async () => {
    expect((await nodeImportsOf(join(dirname(APP), 'node.ts'))).length).toBeGreaterThan(0);
  });
});
