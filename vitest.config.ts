import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

// The monitor imports @vigil/breaker-client's compiled dist/ (as any user does): rebuild it first when
// its sources changed since the last build, so no test ever runs a stale build (~0.1 s when fresh).
execFileSync(process.execPath, ['packages/breaker-client/scripts/build.mjs', '--if-stale'], { cwd: fileURLToPath(new URL('.', import.meta.url)), stdio: 'inherit' });

/** Tests that need no service (no Kafka, Redis, registry or SMTP): pure detectors, pure src helpers, repo checks. */
const UNIT = ['processors/**/*.test.ts', 'src/**/*.test.ts', 'test/repo/**/*.test.ts', 'packages/*/test/unit/**/*.test.ts'];

export default defineConfig({
  test: {
    testTimeout: 60_000,
    hookTimeout: 180_000,
    // Integration tests share one broker and Redis on a 2-core machine: few files at once.
    maxWorkers: 2,
    reporters: ['default'],
    projects: [
      // `npm run test:unit` (vitest run --project unit): starts nothing.
      { extends: true, test: { name: 'unit', include: UNIT } },
      {
        extends: true,
        test: {
          name: 'integration',
          include: ['test/**/*.test.ts', 'scripts/**/*.test.ts', 'packages/*/test/**/*.test.ts'],
          exclude: ['**/node_modules/**', ...UNIT],
          // Starts (or reuses) the local stack once per run: Kafka, the registry, Redis, the SMTP sink.
          globalSetup: ['test/helpers/global-setup.ts'],
        },
      },
    ],
  },
});
