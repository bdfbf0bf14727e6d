import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['src/**/*.test.ts', 'test/**/*.test.ts', 'sdk/browser/src/**/*.test.ts'],
    // One real stack (Temporal, NATS, PostgreSQL, API and worker processes) for the whole run.
    globalSetup: ['test/global-setup.ts'],
    // The machine has two cores and the stack runs on them too: files run one after another.
    fileParallelism: false,
    testTimeout: 60_000,
    hookTimeout: 120_000,
  },
});
