import { describe, expect, it } from 'vitest';
import { build } from 'esbuild';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const SRC = join(dirname(fileURLToPath(import.meta.url)), '..', 'src');

/** The packages (node_modules folders or our workspaces) a bundle of `entry` would contain. */
async function packagesIn(entry: string): Promise<Set<string>> {
  const { metafile } = await build({
    entryPoints: [entry],
    bundle: true,
    write: false,
    platform: 'node',
    format: 'esm',
    metafile: true,
    logLevel: 'silent',
  });
  const names = new Set<string>();
  for (const input of Object.keys(metafile.inputs)) {
    const m =
      /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(input) ?? /(?:^|\/)((?:packages|apps|tools)\/[^/]+)\//.exec(input);
    if (m) names.add(m[1]!);
  }
  return names;
}

describe('the Node API bundle', () => {
  it('serves artifacts without tfjs, and carries no training or dev tooling', async () => {
    const names = [...(await packagesIn(join(SRC, 'node.ts')))];
    expect(names).toContain('@aws-sdk/client-s3'); // the check sees dependencies at all
    expect(
      names.filter((n) =>
        /^@tensorflow\/|^packages\/(training|models|checkpoint|backends|tfjs-backend-onednn)$|^tools\/|^s3rver$/.test(
          n,
        ),
      ),
    ).toEqual([]);
  });
});
