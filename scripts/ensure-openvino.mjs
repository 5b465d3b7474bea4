#!/usr/bin/env node
// Makes the OpenVINO runtime available to the tests, the benchmarks and the demo: the pinned PyPI
// wheel (`openvino`, Apache-2.0: libopenvino, libopenvino_c, the CPU plugin, the IR and ONNX
// frontends) in the repository's ignored virtual environment `.venv-openvino`, and an older
// release in `.venv-openvino-legacy` for the compatibility tests of @ovseal/openvino-c. Nothing to
// do for a runtime whose variable (OVSEAL_OPENVINO_LIB, OVSEAL_OPENVINO_LEGACY_LIB) is set or whose
// wheel is already there.
//
// `--required` (and OVSEAL_REQUIRE_ALL=1, as in CI): fail when the runtime cannot be installed.
// Otherwise say loudly that OpenVINO paths will fall back (ONNX Runtime) or skip, and succeed.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { openVinoLegacyLibraryDir, openVinoLibraryDir, OPENVINO_LEGACY_VERSION, OPENVINO_VERSION } from '../test-fixtures/index.mjs';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const required = process.argv.includes('--required') || process.env.OVSEAL_REQUIRE_ALL === '1';
const quiet = process.argv.includes('--quiet');

function say(message) {
  if (!quiet) console.log(`ensure-openvino: ${message}`);
}

function run(command, args) {
  const result = spawnSync(command, args, { stdio: quiet ? 'pipe' : 'inherit', encoding: 'utf8' });
  if (result.error) return `${command}: ${result.error.message}`;
  if (result.status !== 0) return `${command} ${args.join(' ')} exited with ${result.status}${quiet ? `\n${result.stderr}` : ''}`;
  return undefined;
}

function install(venvName, version) {
  const venv = join(repoRoot, venvName);
  const python = process.env.PYTHON ?? 'python3';
  const venvPython = join(venv, 'bin', 'python3');
  if (!existsSync(venvPython)) {
    say(`creating ${venv} with ${python}`);
    const failed = run(python, ['-m', 'venv', venv]);
    if (failed) return failed;
  }
  say(`installing openvino==${version} from PyPI into ${venv} (about 60 MB)`);
  // --no-deps: only the native runtime is used (numpy and the telemetry package are not needed).
  return run(venvPython, ['-m', 'pip', 'install', '--quiet', '--disable-pip-version-check', '--no-deps', `openvino==${version}`]);
}

function ensure(what, venvName, version, find) {
  const found = find();
  if (found) {
    say(`${what} at ${found}`);
    return;
  }
  const failure = install(venvName, version);
  const after = find();
  if (after) {
    say(`${what} at ${after}`);
    return;
  }
  const why = failure ?? 'the wheel installed no openvino/libs folder';
  const message =
    `${what} (openvino==${version}) could not be installed (${why}).\n` +
    `  To install it by hand: python3 -m pip install openvino==${version} (or a system package or archive),\n` +
    '  then set OVSEAL_OPENVINO_LIB to the folder holding libopenvino_c.';
  if (required) {
    console.error(`ensure-openvino: error: ${message}`);
    process.exit(1);
  }
  console.warn(`\n!!! ensure-openvino: ${message}\n!!! OpenVINO paths fall back to ONNX Runtime (demo) or are skipped (tests).\n`);
}

ensure('the OpenVINO runtime', '.venv-openvino', OPENVINO_VERSION, openVinoLibraryDir);
if (!process.argv.includes('--no-legacy'))
  ensure('the older OpenVINO runtime', '.venv-openvino-legacy', OPENVINO_LEGACY_VERSION, openVinoLegacyLibraryDir);
