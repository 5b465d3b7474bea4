import { defineConfig } from 'vitest/config';
import { TIMEOUTS } from './vitest.shared.js';

export default defineConfig({
  test: {
    projects: ['packages/*', 'apps/*', 'tests'],
    reporters: ['default', './scripts/summary-reporter.ts'],
    ...TIMEOUTS,
  },
});
