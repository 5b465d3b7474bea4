/**
 * The real OpenVINO runtime for the loader's suites, through @ovseal/openvino-c: $OVSEAL_OPENVINO_LIB
 * or the repository's `.venv-openvino` (`node scripts/ensure-openvino.mjs` installs the pinned PyPI
 * wheel there; vitest.config.ts passes its folder on as OVSEAL_OPENVINO_LIB). Without it the suites
 * skip loudly; under OVSEAL_REQUIRE_ALL=1 or OVSEAL_REQUIRE_OPENVINO=1 (CI) they fail instead.
 */
import { loadOpenVinoC, type OpenVinoC } from '@ovseal/openvino-c';
import { describeWithPart } from '@ovseal/test-fixtures/vitest';

const HOW =
  'run `node scripts/ensure-openvino.mjs` (installs the pinned `openvino` wheel from PyPI into .venv-openvino) or set OVSEAL_OPENVINO_LIB';

export const openvino: OpenVinoC | Error = process.env.OVSEAL_OPENVINO_LIB
  ? await loadOpenVinoC({ libraryPath: process.env.OVSEAL_OPENVINO_LIB }).catch((error: Error) => error)
  : new Error('OVSEAL_OPENVINO_LIB is not set and .venv-openvino holds no runtime');

/** `describe` that runs on the real runtime, or skips loudly (fails where the runtime is required). */
export function describeOpenVino(name: string, body: (ov: OpenVinoC) => void): void {
  describeWithPart(name, openvino, HOW, body);
}
