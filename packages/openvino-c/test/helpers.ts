/**
 * The real OpenVINO runtime for these tests: $OVSEAL_OPENVINO_LIB or the repository's
 * `.venv-openvino` (`node scripts/ensure-openvino.mjs` installs the pinned PyPI wheel there).
 * Without it the suites skip loudly; under OVSEAL_REQUIRE_ALL=1 or OVSEAL_REQUIRE_OPENVINO=1 (CI)
 * they fail instead.
 */
import { describe, test } from 'vitest';
import { openVinoLibraryDir } from '@ovseal/test-fixtures';
import { loadOpenVinoC, type OpenVinoC } from '../src/index.js';

export const libraryDir = openVinoLibraryDir();
const required = process.env.OVSEAL_REQUIRE_ALL === '1' || process.env.OVSEAL_REQUIRE_OPENVINO === '1';
const HOW = 'run `node scripts/ensure-openvino.mjs` (installs the pinned `openvino` wheel from PyPI into .venv-openvino) or set OVSEAL_OPENVINO_LIB';

export const runtime: OpenVinoC | Error =
  libraryDir === undefined
    ? new Error('no OpenVINO runtime found')
    : await loadOpenVinoC({ libraryPath: libraryDir }).catch((error: Error) => error);

/** `describe` that runs with the real runtime, or skips loudly (fails when the runtime is required). */
export function describeOpenVino(name: string, body: (ov: OpenVinoC) => void): void {
  if (!(runtime instanceof Error)) {
    describe(name, () => body(runtime as OpenVinoC));
    return;
  }
  const reason = `${name}: OpenVINO runtime not available (${runtime.message.split('\n')[0]}); ${HOW}`;
  if (required) {
    test(`${name}: the OpenVINO runtime loads (required here)`, () => {
      throw new Error(reason);
    });
    return;
  }
  console.warn(`\n!!! SKIPPED ${reason}\n`);
  test.skip(`${name} (SKIPPED: no OpenVINO runtime; ${HOW})`, () => undefined);
}
