import { defineProject } from 'vitest/config';
import { openVinoLibraryDir } from '@ovseal/test-fixtures';

// The runner finds OpenVINO the way a device does (OVSEAL_OPENVINO_LIB): point it at the
// repository's .venv-openvino when nothing else is set.
const openvinoLib = openVinoLibraryDir();

export default defineProject({
  test: {
    name: 'edge-runner',
    include: ['test/**/*.test.ts'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    env: openvinoLib ? { OVSEAL_OPENVINO_LIB: openvinoLib } : {},
  },
});
