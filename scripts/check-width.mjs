// No line of a tracked source file may be wider than Prettier's printWidth. Prettier wraps
// code at that width but never breaks a string, a template literal or a comment (and
// clang-format leaves long string literals alone), so a line can still come out longer:
// this finds those. `npm run format:check` runs it, and `npm test` runs that. The width is
// read from .prettierrc.json, the one place it is set (.clang-format must agree). JSON and
// Markdown are left out: their long lines are strings that cannot be split.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const EXTENSIONS = /\.(ts|js|mjs|cjs|css|html|yml|yaml|cc|h)$/;

const fail = (message) => {
  console.error(`check-width: ${message}`);
  process.exit(2);
};

const limit = JSON.parse(readFileSync(join(root, '.prettierrc.json'), 'utf8')).printWidth;
if (!Number.isInteger(limit) || limit <= 0) fail('.prettierrc.json sets no printWidth');
const clangLimit = Number(/^ColumnLimit:\s*(\d+)/m.exec(readFileSync(join(root, '.clang-format'), 'utf8'))?.[1]);
if (clangLimit !== limit) fail(`.clang-format's ColumnLimit (${clangLimit}) is not printWidth (${limit})`);

let files;
try {
  files = execFileSync('git', ['ls-files', '-z'], {
    cwd: root,
    encoding: 'utf8',
    stdio: 'pipe',
    maxBuffer: 1 << 26,
  }).split('\0');
} catch (err) {
  const why = err.code === 'ENOENT' ? 'git is not installed (or not on PATH)' : err.message;
  fail(`cannot list the tracked files: ${why}`);
}

let checked = 0;
let over = 0;
for (const file of files.filter((f) => EXTENSIONS.test(f))) {
  let text;
  try {
    text = readFileSync(join(root, file), 'utf8');
  } catch (err) {
    if (err.code === 'ENOENT') continue; // deleted in the work tree, not yet in git
    throw err;
  }
  checked++;
  text.split('\n').forEach((line, i) => {
    const columns = [...line.replace(/\r$/, '')].length; // code points, as an editor counts them
    if (columns > limit) {
      over++;
      console.log(`${file}:${i + 1}: ${columns} columns (limit ${limit})`);
    }
  });
}
if (over > 0) {
  console.error(`check-width: ${over} line(s) over ${limit} columns; split the string or comment by hand`);
  process.exit(1);
}
console.log(`check-width: ${checked} files, no line over ${limit} columns`);
