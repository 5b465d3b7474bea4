import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    projects: ['packages/*', 'apps/*'],
    reporters: ['default', './scripts/summary-reporter.ts'],
    // The machines are shared and noisy: tests check behaviour, never timing.
    testTimeout: 120_000,
    hookTimeout: 120_000,
  },
});
