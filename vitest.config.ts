import { configDefaults, defineConfig } from 'vitest/config';

// Two projects: everything else, and the Kafka suite, which runs against a real broker the
// global setup starts (scripts/kafka.sh) and stops. `npm test` runs both.
export default defineConfig({
  test: {
    testTimeout: 120_000,
    hookTimeout: 120_000,
    pool: 'forks',
    projects: [
      { extends: true, test: { name: 'unit', include: ['src/**/*.test.ts', 'test/**/*.test.ts'], exclude: [...configDefaults.exclude, 'test/kafka/**'] } },
      { extends: true, test: { name: 'kafka', include: ['test/kafka/**/*.test.ts'], globalSetup: ['test/global-setup.ts'] } },
    ],
  },
});
