#!/usr/bin/env bash
# Runs the loader's OpenVINO suite against the real OpenVINO runtime (`pnpm test:openvino`).
#
# openvino-node is installed without its native runtime (pnpm-workspace.yaml disables its install
# script: the runtime is downloaded from storage.openvinotoolkit.org, which CI machines cannot
# reach). On a machine that can, this script runs openvino-node's own download script, builds the
# loader, and runs packages/loader/test/openvino.test.ts with OVSEAL_REQUIRE_OPENVINO=1, so a
# runtime that still does not load fails instead of skipping.
#
# Environment: http_proxy/HTTP_PROXY are honoured by the download script; OVSEAL_FIXTURES points at
# the shared fixtures (default ../shared/fixtures); OVSEAL_REQUIRE_ALL=1 makes missing fixtures fail.
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
loader_dir="$repo_root/packages/loader"
cd "$repo_root"

node_major="$(node -p 'process.versions.node.split(".")[0]')"
if [ "$node_major" -lt 20 ]; then
  echo "test-openvino: Node >= 20.5 is required (found $(node --version))" >&2
  exit 1
fi

if [ ! -d "$loader_dir/node_modules/openvino-node" ]; then
  echo "test-openvino: openvino-node is not installed; running pnpm install" >&2
  pnpm install --frozen-lockfile
fi

openvino_dir="$(cd "$loader_dir" && node -p 'require("path").dirname(require.resolve("openvino-node/package.json"))')"
echo "test-openvino: openvino-node $(node -p "require('$openvino_dir/package.json').version") at $openvino_dir"

if (cd "$loader_dir" && node -e 'require("openvino-node")' 2>/dev/null); then
  echo "test-openvino: the OpenVINO runtime is already installed"
else
  echo "test-openvino: downloading the OpenVINO runtime (openvino-node's install script) ..."
  if ! (cd "$openvino_dir" && node scripts/download_runtime.js --ignore-if-exists); then
    echo "test-openvino: cannot download the OpenVINO runtime from storage.openvinotoolkit.org;" \
      "run this on a machine that can reach it (or set http_proxy)" >&2
    exit 1
  fi
  if ! (cd "$loader_dir" && node -e 'require("openvino-node")'); then
    echo "test-openvino: the OpenVINO runtime was downloaded but does not load (see the error above)" >&2
    exit 1
  fi
fi
(cd "$loader_dir" && node -e 'const { addon: ov } = require("openvino-node"); const core = new ov.Core(); console.log("test-openvino: devices:", core.getAvailableDevices().join(", "), "| CPU plugin", JSON.stringify(core.getVersions("CPU")))')

echo "test-openvino: building the loader, the edge runner and their dependencies ..."
pnpm exec turbo run build --filter=@ovseal/loader... --filter=@ovseal/edge-runner...

echo "test-openvino: running the OpenVINO suites ..."
(cd "$loader_dir" && OVSEAL_REQUIRE_OPENVINO=1 pnpm exec vitest run test/openvino.test.ts test/openvino-logic.test.ts)
# The edge runner serves inference through OpenVINO when its runtime loads: compare with the plain model.
(cd "$repo_root/apps/edge-runner" && OVSEAL_REQUIRE_OPENVINO=1 pnpm exec vitest run test/runtime.test.ts)
