#!/usr/bin/env node
// Makes the OpenVINO runtime available to the tests, the benchmarks and the demo: the pinned PyPI
// wheel (`openvino`, Apache-2.0: libopenvino, libopenvino_c, the CPU plugin, the IR and ONNX
// frontends) in the repository's ignored virtual environment `.venv-openvino`. Nothing to do when
// OVSEAL_OPENVINO_LIB is set or the wheel is already there.
//
// `--required` (and OVSEAL_REQUIRE_ALL=1, as in CI): fail when the runtime cannot be installed.
// Otherwise say loudly that OpenVINO paths will fall back (ONNX Runtime) or skip, and succeed.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { openVinoLibraryDir, OPENVINO_VERSION } from '../test-fixtures/index.mjs';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const venv = join(repoRoot, '.venv-openvino');
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

function install() {
  const python = process.env.PYTHON ?? 'python3';
  const venvPython = join(venv, 'bin', 'python3');
  if (!existsSync(venvPython)) {
    say(`creating ${venv} with ${python}`);
    const failed = run(python, ['-m', 'venv', venv]);
    if (failed) return failed;
  }
  say(`installing openvino==${OPENVINO_VERSION} from PyPI into ${venv} (about 60 MB)`);
  // --no-deps: only the native runtime is used (numpy and the telemetry package are not needed).
  return run(venvPython, ['-m', 'pip', 'install', '--quiet', '--disable-pip-version-check', '--no-deps', `openvino==${OPENVINO_VERSION}`]);
}

const found = openVinoLibraryDir();
if (found) {
  say(`OpenVINO runtime at ${found}`);
} else {
  const failure = install();
  const after = openVinoLibraryDir();
  if (after) {
    say(`OpenVINO runtime at ${after}`);
  } else {
    const why = failure ?? 'the wheel installed no openvino/libs folder';
    const message =
      `the OpenVINO runtime could not be installed (${why}).\n` +
      `  To install it by hand: python3 -m pip install openvino==${OPENVINO_VERSION} (or a system package or archive),\n` +
      '  then set OVSEAL_OPENVINO_LIB to the folder holding libopenvino_c.';
    if (required) {
      console.error(`ensure-openvino: error: ${message}`);
      process.exit(1);
    }
    console.warn(`\n!!! ensure-openvino: ${message}\n!!! OpenVINO paths fall back to ONNX Runtime (demo) or are skipped (tests).\n`);
  }
}
