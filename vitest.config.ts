import { configDefaults, defineConfig } from 'vitest/config';

// Two projects: everything else, and the Kafka suite, which runs against a real broker the
// global setup starts (scripts/kafka.sh) and stops. `npm test` runs both: the unit project two
// files at a time, then the Kafka files one at a time (they share the broker and its topics).
export default defineConfig({
  test: {
    testTimeout: 120_000,
    hookTimeout: 120_000,
    pool: 'forks',
    // Two test files at a time: most wait on PostgreSQL, child processes or DuckDB's threads, and
    // one at a time (what this 2-core machine got by default) took the whole run past 30 minutes.
    maxWorkers: 2,
    projects: [
      { extends: true, test: { name: 'unit', include: ['src/**/*.test.ts', 'test/**/*.test.ts'], exclude: [...configDefaults.exclude, 'test/kafka/**'] } },
      { extends: true, test: { name: 'kafka', include: ['test/kafka/**/*.test.ts'], globalSetup: ['test/global-setup.ts'] } },
    ],
  },
});
