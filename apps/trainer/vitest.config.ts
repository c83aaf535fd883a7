import { defineConfig } from 'vitest/config';

// Integration suites start servers and trainer processes: one file at a time on a small machine.
export default defineConfig({
  test: {
    fileParallelism: false,
    testTimeout: 120_000,
    hookTimeout: 120_000,
  },
});
