import { defineConfig } from 'vitest/config';

// Integration tests create network namespaces and run real daemons: they get
// generous timeouts, and files run in parallel (names are unique per file).
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/global-setup.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: 'forks',
    maxWorkers: 2,
    reporters: ['default', 'json'],
    outputFile: { json: '.test-results.json' },
  },
});
