import { mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { dirname, join, resolve, sep } from 'node:path';
import { randomBytes } from 'node:crypto';
import { assertSafeKey, joinPrefix, type ArtifactStore } from './artifact-store.js';

/** A folder on the local filesystem. Writes go to a temporary file renamed into place (atomic on POSIX). */
export class FsStore implements ArtifactStore {
  readonly location: string;
  private readonly root: string;

  constructor(root: string) {
    this.root = resolve(root);
    this.location = this.root + sep;
  }

  private path(key: string): string {
    assertSafeKey(key);
    return join(this.root, ...key.split('/'));
  }

  async put(key: string, body: Uint8Array | string): Promise<void> {
    const target = this.path(key);
    await mkdir(dirname(target), { recursive: true });
    const tmp = `${target}.tmp-${randomBytes(4).toString('hex')}`;
    await writeFile(tmp, body);
    await rename(tmp, target);
  }

  async get(key: string): Promise<Uint8Array | undefined> {
    try {
      return new Uint8Array(await readFile(this.path(key)));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    }
  }

  async list(prefix = ''): Promise<string[]> {
    if (prefix !== '') assertSafeKey(prefix);
    const keys: string[] = [];
    const walk = async (dir: string, rel: string): Promise<void> => {
      let entries;
      try {
        entries = await readdir(dir, { withFileTypes: true });
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
        throw err;
      }
      for (const e of entries) {
        const key = rel + e.name;
        if (e.isDirectory()) await walk(join(dir, e.name), key + '/');
        // Half-written temporary files are not artifacts.
        else if (e.isFile() && !e.name.includes('.tmp-') && key.startsWith(prefix)) keys.push(key);
      }
    };
    await walk(this.root, '');
    return keys.sort();
  }

  async deletePrefix(prefix: string): Promise<void> {
    assertSafeKey(prefix);
    if (prefix.endsWith('/')) {
      await rm(this.path(prefix.slice(0, -1)), { recursive: true, force: true });
      return;
    }
    await Promise.all((await this.list(prefix)).map((k) => rm(this.path(k), { force: true })));
  }

  scope(prefix: string): ArtifactStore {
    assertSafeKey(prefix);
    return new FsStore(join(this.root, ...joinPrefix(prefix, '').split('/').filter(Boolean)));
  }
}
