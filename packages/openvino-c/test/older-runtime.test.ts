/**
 * An older OpenVINO (2024.6, installed into .venv-openvino-legacy by scripts/ensure-openvino.mjs):
 * no `_props` C functions (compile and set-property go through the variadic calls) and the old
 * `ov_element_type_e` numbering (UNDEFINED = 0, every code one higher). Each runtime runs in a child
 * process: a process can hold one libopenvino only.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { expect, test } from 'vitest';
import { openVinoLegacyLibraryDir, OPENVINO_LEGACY_VERSION } from '@ovseal/test-fixtures';

const legacy = openVinoLegacyLibraryDir();
const required = process.env.OVSEAL_REQUIRE_ALL === '1' || process.env.OVSEAL_REQUIRE_OPENVINO === '1';
const HOW = `run \`node scripts/ensure-openvino.mjs\` (installs openvino==${OPENVINO_LEGACY_VERSION} into .venv-openvino-legacy) or set OVSEAL_OPENVINO_LEGACY_LIB`;

const script = `
  import { loadOpenVinoC } from ${JSON.stringify(new URL('../dist/index.js', import.meta.url).pathname)};
  const { tinyIr } = await import('@ovseal/test-fixtures');
  const ov = await loadOpenVinoC({ libraryPath: process.argv[1] });
  const core = new ov.Core();
  const { xml, weights } = tinyIr({ addend: 2 });
  const w = Uint8Array.from(weights);
  const model = await core.readModel(xml, new ov.Tensor('u8', [w.length], w));
  const compiled = await core.compileModel(model, 'CPU', { INFERENCE_PRECISION_HINT: 'f32' });
  const run = (m) => Array.from(m.createInferRequest().infer({ input: Float32Array.from({ length: 10 }, (_, i) => i) }).output.data);
  const imported = await core.importModel(compiled.exportModelSync(), 'CPU');
  const i64 = new ov.Tensor('i64', [2], BigInt64Array.of(1n, -1n));
  core.setProperty({ CACHE_DIR: '' });
  console.log(JSON.stringify({
    version: ov.version,
    types: [...compiled.inputs, ...compiled.outputs].map((port) => port.elementType),
    compiled: run(compiled),
    imported: run(imported),
    i64: [i64.getElementType(), i64.getShape()],
  }));
`;

if (legacy === undefined) {
  if (required) {
    test('the older OpenVINO runtime is installed (required here)', () => {
      throw new Error(`no older OpenVINO runtime; ${HOW}`);
    });
  } else {
    console.warn(`\n!!! SKIPPED the older-runtime suite: ${HOW}\n`);
    test.skip(`OpenVINO ${OPENVINO_LEGACY_VERSION} (SKIPPED: ${HOW})`, () => undefined);
  }
} else {
  test(`OpenVINO ${OPENVINO_LEGACY_VERSION}: read, compile (variadic), infer, export, import, element types`, async () => {
    const { stdout } = await promisify(execFile)(process.execPath, ['--input-type=module', '-e', script, legacy], {
      cwd: new URL('.', import.meta.url).pathname,
    });
    const result = JSON.parse(stdout.trim().split('\n').pop()!);
    expect(result.version).toMatch(new RegExp(`^${OPENVINO_LEGACY_VERSION.replace(/\./g, '\\.')}-`));
    expect(result.types).toEqual(['f32', 'f32']);
    expect(result.compiled).toEqual(Array.from({ length: 10 }, (_, i) => i + 2));
    expect(result.imported).toEqual(result.compiled);
    expect(result.i64).toEqual(['i64', [2]]);
  });
}
