import { defineConfig } from 'vitest/config';

// Two projects. `unit` is the inner loop (`npx vitest run --project unit`):
// no root, no namespaces, no program beyond node, sh and coreutils, so it
// runs as any user in seconds. `integration` creates network namespaces and
// runs the built executable and real dhclient, ifup, dnsmasq and groff: root,
// and dist/ built first by its global setup. Files run in parallel (names
// are unique per file). One reporter for both projects, so
// .test-results.json holds every test of the run.
export default defineConfig({
  test: {
    // Generous for both, as before the split: test machines are shared, and
    // CPU-bound unit cases (randomised, exhaustive) slow down with the load.
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: 'forks',
    maxWorkers: 2,
    reporters: ['default', 'json'],
    outputFile: { json: '.test-results.json' },
    projects: [
      {
        extends: true,
        test: {
          name: 'unit',
          include: ['test/unit/**/*.test.ts'],
          // Files share their workers' module cache instead of importing lib/
          // afresh each: 33 s -> 8 s on a busy 2-CPU machine. Fine while no
          // unit test mocks a module or leaves a global changed; one that
          // must, restores it.
          isolate: false,
        },
      },
      {
        extends: true,
        test: {
          name: 'integration',
          include: ['test/integration/**/*.test.ts'],
          globalSetup: ['test/global-setup.ts'],
        },
      },
    ],
  },
});
