/**
 * The real OpenVINO runtime for these tests: $OVSEAL_OPENVINO_LIB or the repository's
 * `.venv-openvino` (`node scripts/ensure-openvino.mjs` installs the pinned PyPI wheel there).
 * Without it the suites skip loudly; under OVSEAL_REQUIRE_ALL=1 or OVSEAL_REQUIRE_OPENVINO=1 (CI)
 * they fail instead.
 */
import { openVinoLibraryDir } from '@ovseal/test-fixtures';
import { describeWithPart } from '@ovseal/test-fixtures/vitest';
import { loadOpenVinoC, type OpenVinoC } from '../src/index.js';

export const libraryDir = openVinoLibraryDir();
const HOW =
  'run `node scripts/ensure-openvino.mjs` (installs the pinned `openvino` wheel from PyPI into .venv-openvino) or set OVSEAL_OPENVINO_LIB';

export const runtime: OpenVinoC | Error =
  libraryDir === undefined
    ? new Error('no OpenVINO runtime found')
    : await loadOpenVinoC({ libraryPath: libraryDir }).catch((error: Error) => error);

/** `describe` that runs with the real runtime, or skips loudly (fails when the runtime is required). */
export function describeOpenVino(name: string, body: (ov: OpenVinoC) => void): void {
  describeWithPart(name, runtime, HOW, body);
}
