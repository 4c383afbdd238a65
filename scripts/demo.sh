#!/usr/bin/env bash
# The demo on a fresh machine: installs what it needs, starts the stack and the platform, plays
# the scenario and keeps running until Ctrl-C. DEMO_EXIT=1 stops after the scenario.
set -euo pipefail
cd "$(dirname "$0")/.."
# onnxruntime-node ships its CPU binaries; its install script would try to download GPU ones.
export ONNXRUNTIME_NODE_INSTALL=skip
# The pinned AWS SDK warns about Node 20 on every start; the move to Node 22 is tracked in docs/.
export AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED=true
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "==> installing npm dependencies"
  npm ci --no-audit --no-fund --loglevel=error
fi
# Node with tsx as its loader (one process, so Ctrl-C reaches the demo's own handler directly).
exec node --import tsx scripts/demo.ts
