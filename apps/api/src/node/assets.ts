import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Asset } from '../deps.js';

export const PUBLIC_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'public');

const FILES: Record<string, { file: string; contentType: string }> = {
  '/': { file: 'index.html', contentType: 'text/html; charset=utf-8' },
  '/dashboard.js': { file: 'dashboard.js', contentType: 'text/javascript; charset=utf-8' },
  '/dashboard.css': { file: 'dashboard.css', contentType: 'text/css; charset=utf-8' },
};

/** The dashboard's files from apps/api/public, read once at start-up (they are served as is: no build step). */
export function loadAssets(dir = PUBLIC_DIR): Record<string, Asset> {
  return Object.fromEntries(
    Object.entries(FILES).map(([path, { file, contentType }]) => [
      path,
      { contentType, body: readFileSync(join(dir, file), 'utf8') },
    ]),
  );
}
