import { defineConfig } from 'vitest/config';

// Integration suites start nats-server, s3rver, API and trainer processes: one file at a time.
export default defineConfig({
  test: {
    fileParallelism: false,
    testTimeout: 120_000,
    hookTimeout: 120_000,
  },
});
