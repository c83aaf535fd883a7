#!/usr/bin/env node
// The workspace ships TypeScript sources; tsx compiles them on the fly (no build step).
import { register } from 'tsx/esm/api';

register();
// `mnist ... | head` closes stdout early: that is not an error.
process.stdout.on('error', (err) => {
  if (err.code === 'EPIPE') process.exit(0);
  throw err;
});
const { main } = await import('../src/main.ts');
process.exitCode = await main(process.argv.slice(2));
