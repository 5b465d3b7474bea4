// The one vitest base every package's vitest.config.ts builds on (and the root config's timeouts).
import { defineProject } from 'vitest/config';
import { openVinoLibraryDir } from './test-fixtures/index.mjs';

/**
 * The machines are shared and noisy: tests check behaviour, never timing, so a slow swtpm, KMS or
 * OpenVINO compile gets two minutes before it counts as hung.
 */
export const TIMEOUTS = { testTimeout: 120_000, hookTimeout: 120_000 } as const;

interface PackageProjectOptions {
  /**
   * Suites that run OpenVINO find it the way users do (`OVSEAL_OPENVINO_LIB`): point it at the
   * repository's .venv-openvino when nothing else is set.
   */
  readonly openvino?: boolean;
}

/** The vitest project of one package: its `test/**\/*.test.ts`, named after the package folder. */
export function packageProject(name: string, options: PackageProjectOptions = {}) {
  const openvinoLib = options.openvino ? openVinoLibraryDir() : undefined;
  return defineProject({
    test: {
      name,
      include: ['test/**/*.test.ts'],
      ...TIMEOUTS,
      env: openvinoLib ? { OVSEAL_OPENVINO_LIB: openvinoLib } : {},
    },
  });
}
