import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { UsageError } from '../errors.js';

/** `20261127-173005`: sortable, readable, safe in paths. */
export function timestamp(date = new Date()): string {
  const p = (n: number) => String(n).padStart(2, '0');
  const day = `${date.getFullYear()}${p(date.getMonth() + 1)}${p(date.getDate())}`;
  const time = `${p(date.getHours())}${p(date.getMinutes())}${p(date.getSeconds())}`;
  return `${day}-${time}`;
}

/** A new folder name under `root` that does not exist yet (`name`, `name-2`, ...). */
export function freshDir(root: string, name: string): string {
  let dir = join(root, name);
  for (let i = 2; existsSync(dir); i++) dir = join(root, `${name}-${i}`);
  return dir;
}

/** `--resume X`: X is a path to a run folder, or a run id under the runs folder. */
export function resolveResumeDir(root: string, idOrPath: string, marker: string): string {
  for (const candidate of [resolve(idOrPath), resolve(root, idOrPath)]) {
    if (existsSync(join(candidate, marker))) return candidate;
  }
  throw new UsageError(
    `cannot resume '${idOrPath}': no ${marker} in ${resolve(idOrPath)} or ${resolve(root, idOrPath)}`,
  );
}
