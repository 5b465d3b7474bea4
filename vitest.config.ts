import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    projects: ['packages/*', 'apps/*'],
    // The machines are shared and noisy: tests check behaviour, never timing.
    testTimeout: 120_000,
    hookTimeout: 120_000,
  },
});
