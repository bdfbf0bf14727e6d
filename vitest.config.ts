import { defineConfig } from 'vitest/config';

// Two speeds. `unit`: every test that needs no service (pure code beside it in src/ and the SDK,
// and the few in test/ listed below), in seconds, with nothing started: `npm run test:unit`.
// `integration`: everything else in test/, against one real stack (Temporal, NATS, PostgreSQL,
// API and worker processes) that its global setup starts only when one of its files runs.
// `npm test` runs both, the unit project first.

/** Tests in test/ that need no service: they read committed files or replay committed histories. */
const UNIT_IN_TEST = ['test/deployment-files.test.ts', 'test/replay.test.ts'];

export default defineConfig({
  test: {
    testTimeout: 60_000,
    hookTimeout: 120_000,
    projects: [
      {
        extends: true,
        test: {
          name: 'unit',
          include: ['src/**/*.test.ts', 'sdk/browser/src/**/*.test.ts', ...UNIT_IN_TEST],
          // Two files at a time: the workflow replays (bundling the workflow code) take most of
          // the time, and the rest runs beside them. Before the integration project, so a broken
          // unit shows before the stack's minute.
          maxWorkers: 2,
          // Files share their worker's modules instead of importing everything again (about a
          // third of the CPU): a unit test leaves no globals, mocks or fake timers behind.
          isolate: false,
          sequence: { groupOrder: 0 },
        },
      },
      {
        extends: true,
        test: {
          name: 'integration',
          include: ['test/**/*.test.ts'],
          exclude: UNIT_IN_TEST,
          // One real stack for the whole run, started only if a file of this project runs.
          globalSetup: ['test/global-setup.ts'],
          // The machine has two cores and the stack runs on them too: files run one after another.
          fileParallelism: false,
          sequence: { groupOrder: 1 },
        },
      },
    ],
  },
});
