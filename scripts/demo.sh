#!/usr/bin/env bash
# The demo on a fresh machine: installs what it needs, starts the stack and the platform, plays
# the scenario and keeps running until Ctrl-C. DEMO_EXIT=1 stops after the scenario.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "==> installing npm dependencies"
  npm ci --no-audit --no-fund --loglevel=error
fi
exec node_modules/.bin/tsx scripts/demo.ts
