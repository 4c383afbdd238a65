#!/usr/bin/env bash
# The whole test suite on a fresh machine: installs dependencies, starts the real services
# (infra/local), then lint, typecheck, unit and integration tests. Stops the services it started.
set -euo pipefail
cd "$(dirname "$0")/.."
# onnxruntime-node ships its CPU binaries; its install script would try to download GPU ones.
export ONNXRUNTIME_NODE_INSTALL=skip
# The pinned AWS SDK warns about Node 20 on every start; the move to Node 22 is tracked in docs/.
export AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED=true

step() { printf '\n==> %s (%s)\n' "$*" "$(date +%T)"; }

step "installing npm dependencies"
npm ci --no-audit --no-fund --loglevel=error

# The dashboard's browser tests drive Debian's Chromium (playwright's own browsers cannot be downloaded here).
if ! command -v chromium >/dev/null 2>&1; then
  step "installing Chromium for the dashboard's browser tests"
  if [ "$(id -u)" = 0 ]; then apt-get install -y -q chromium >/dev/null; else sudo apt-get install -y -q chromium >/dev/null; fi
fi

step "starting the local stack (first run installs PostgreSQL, Kafka, MinIO, Temporal, MLflow)"
started_stack=0
if ! npm run --silent stack -- status >/dev/null 2>&1; then started_stack=1; fi
npm run --silent stack -- up
stop_stack() {
  for pid in "${pytest_pid:-}" "${lint_pid:-}" "${typecheck_pid:-}" "${fuzz_pid:-}" "${lane_a_pid:-}" "${lane_b_pid:-}"; do
    if [ -n "$pid" ]; then kill "$pid" 2>/dev/null || true; fi
  done
  if [ "$started_stack" = 1 ] && [ "${SHEPHERD_KEEP_STACK:-0}" != 1 ]; then
    step "stopping the services this run started (SHEPHERD_KEEP_STACK=1 keeps them)"
    npm run --silent stack -- down || true
  fi
}
trap stop_stack EXIT

results=.state/test-results
mkdir -p "$results"
rm -f "$results"/*
# The reference trainer's tests need only the Python env the stack just installed; they run on the
# second core while lint and typecheck (one core each at a time) run, and report in the test step.
python="${SHEPHERD_CACHE_DIR:-$HOME/.cache/shepherd}/venv/bin/python"
"$python" -m pytest -q -p no:cacheprovider --junit-xml="$results/pytest.xml" trainers/reference \
  >"$results/pytest.log" 2>&1 &
pytest_pid=$!

# Lint and typecheck are single-threaded and independent: side by side on the two cores (pytest
# above is mostly waiting on its trainer subprocesses). Each writes its own log, shown on failure.
step "lint, typecheck and formatting (TypeScript, Terraform)"
npm run --silent lint >"$results/lint.log" 2>&1 &
lint_pid=$!
npm run --silent typecheck >"$results/typecheck.log" 2>&1 &
typecheck_pid=$!
npm run --silent format:check
bash infra/terraform/check.sh
checks=0
wait "$lint_pid" || { cat "$results/lint.log"; echo "lint failed"; checks=1; }
wait "$typecheck_pid" || { cat "$results/typecheck.log"; echo "typecheck failed"; checks=1; }
if [ "$checks" != 0 ]; then exit 1; fi

step "building the worker's workflow bundle"
npm run --silent build -w @shepherd/worker

step "tests (unit, then integration against the real services)"
# Beside the unit tests run the two suites that time nothing: the trainer's pytest (started above)
# and schemathesis against the API (half a minute of fuzzing). Both are collected before the other
# integration tests, whose timing-sensitive cases (canary latency, rollback delay) want the cores.
fuzz=apps/api/test/schemathesis.int.test.ts
npx vitest run --project integration "$fuzz" --reporter=default --reporter=json \
  --outputFile.json="$results/schemathesis.json" >"$results/schemathesis.log" 2>&1 &
fuzz_pid=$!
status=0
npx vitest run --project unit --reporter=default --reporter=json --outputFile.json="$results/unit.json" || status=$?
wait "$pytest_pid" || status=$?
cat "$results/pytest.log"
wait "$fuzz_pid" || status=$?
cat "$results/schemathesis.log"
if [ "$status" = 0 ]; then
  step "integration tests in two lanes"
  # Integration files run in two lanes at once (each one file at a time), then alone the two that
  # stop services under everyone's feet, and the worker scale-out, whose kill must catch the frozen
  # worker holding polls (on a busy machine it once held none). Lane a holds the files that judge
  # latency or timing (canary analyses, the demo, worker restarts, the browser); lane b the rest,
  # which wait on the services more than they use the cores.
  exclusive=(packages/features/test/crash.int.test.ts infra/local/test/stack-down.int.test.ts
    apps/worker/test/scale-out.int.test.ts)
  lane_a=(scripts/demo.int.test.ts apps/worker/test/{rollout,worker-restart,canary-rollout,ping}.int.test.ts
    apps/gateway/test/{predict,resilience}.int.test.ts apps/dashboard/test/{dashboard,oidc-sign-in}.int.test.ts)
  integration() { # name, then vitest's file filters
    local name=$1
    shift
    npx vitest run --project integration --reporter=default --reporter=json \
      --outputFile.json="$results/integration-$name.json" "$@" >"$results/integration-$name.log" 2>&1
  }
  joined() { local IFS=,; echo "$*"; }
  lane_b_skips=$(joined "$fuzz" "${exclusive[@]}" "${lane_a[@]}")
  integration a "${lane_a[@]}" &
  lane_a_pid=$!
  SHEPHERD_EXCLUDE_TESTS="$lane_b_skips" integration b &
  lane_b_pid=$!
  wait "$lane_a_pid" || status=$?
  wait "$lane_b_pid" || status=$?
  cat "$results/integration-a.log" "$results/integration-b.log"
  step "integration files that restart services, alone"
  integration exclusive "${exclusive[@]}" || status=$?
  cat "$results/integration-exclusive.log"
  # CI shows the end of this output: repeat each group's failures here, whichever group they were in.
  for log in "$results"/integration-*.log; do
    if grep -qE 'Failed (Tests|Suites)' "$log"; then
      step "failures in $log"
      sed -nE '/Failed (Tests|Suites)/,$p' "$log" | head -80
    fi
  done
fi
node scripts/test-summary.mjs "$results/pytest.xml" "$results/unit.json" "$results/schemathesis.json" "$results"/integration-*.json
exit "$status"
