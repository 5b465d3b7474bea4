#!/usr/bin/env bash
# Runs every OpenVINO suite against the real OpenVINO runtime (`pnpm test:openvino`): installs the
# pinned PyPI wheel into .venv-openvino if it is not there (scripts/ensure-openvino.mjs), builds,
# and runs the suites with OVSEAL_REQUIRE_OPENVINO=1, under which a missing runtime fails instead
# of skipping. `pnpm test` runs the same suites (CI requires them through OVSEAL_REQUIRE_ALL=1).
#
# Environment: OVSEAL_OPENVINO_LIB uses a runtime you installed yourself (the folder holding
# libopenvino_c); OVSEAL_FIXTURES points at the shared fixtures (default ../shared/fixtures).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

node scripts/ensure-openvino.mjs --required
pnpm exec turbo run build --filter=@ovseal/openvino-c... --filter=@ovseal/loader... --filter=@ovseal/edge-runner...
export OVSEAL_REQUIRE_OPENVINO=1
pnpm exec vitest run --project openvino-c
pnpm exec vitest run --project loader test/openvino test/onnx-external-data test/no-plaintext-on-disk
pnpm exec vitest run --project edge-runner test/runtime
