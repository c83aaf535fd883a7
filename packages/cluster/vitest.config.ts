import { defineConfig } from 'vitest/config';

// One file at a time: the replicated test restarts a killed nats-server on the ports it had,
// and another file's server started meanwhile (on a free port it picked) could take them.
export default defineConfig({
  test: {
    fileParallelism: false,
  },
});
