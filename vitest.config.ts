import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['processors/**/*.test.ts', 'src/**/*.test.ts', 'test/**/*.test.ts', 'scripts/**/*.test.ts'],
    globalSetup: ['test/helpers/global-setup.ts'],
    testTimeout: 60_000,
    hookTimeout: 180_000,
    // Integration tests share one broker and Redis on a 2-core machine: few files at once.
    maxWorkers: 2,
    reporters: ['default'],
  },
});
