import { defineConfig } from 'vitest/config';
import { TIMEOUTS } from './vitest.shared.js';

export default defineConfig({
  test: {
    projects: ['packages/*', 'apps/*'],
    reporters: ['default', './scripts/summary-reporter.ts'],
    ...TIMEOUTS,
  },
});
