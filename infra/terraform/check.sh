#!/usr/bin/env bash
# Format check of every Terraform file with OpenTofu (`tofu fmt -check`, which needs no providers).
# Installs the pinned tofu from the Go module proxy on first use into the shepherd cache; later runs
# take well under a second. `go install …@version` refuses OpenTofu's module (its go.mod has a
# replace directive), so the module is downloaded and built the way its own repository builds it.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"

TOFU_VERSION=v1.10.10
cache="${SHEPHERD_CACHE_DIR:-$HOME/.cache/shepherd}"
bin="$cache/bin/tofu-$TOFU_VERSION"

if [ ! -x "$bin" ]; then
  if ! command -v go >/dev/null 2>&1; then
    echo "check.sh: Go is needed to build OpenTofu $TOFU_VERSION (none on PATH)" >&2
    exit 1
  fi
  echo "check.sh: building OpenTofu $TOFU_VERSION into $bin (once; a few minutes)" >&2
  module="github.com/opentofu/opentofu@$TOFU_VERSION"
  dir="$(go mod download -json "$module" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')"
  if [ -z "$dir" ] || [ ! -d "$dir" ]; then
    echo "check.sh: go mod download $module gave no source directory" >&2
    exit 1
  fi
  mkdir -p "$cache/bin"
  # dev=no: report the release version instead of "-dev".
  (cd "$dir" && go build -trimpath -ldflags "-s -w -X github.com/opentofu/opentofu/version.dev=no" \
    -o "$bin.partial" ./cmd/tofu)
  mv "$bin.partial" "$bin"
fi

# No CLI configuration: fmt reads none, and tofu would otherwise warn that ~/.terraformrc is missing.
export TF_CLI_CONFIG_FILE=/dev/null
if ! "$bin" fmt -check -recursive -diff "$here"; then
  echo "check.sh: the files above are not formatted; run: $bin fmt -recursive infra/terraform" >&2
  exit 1
fi
echo "terraform fmt: ok (OpenTofu $TOFU_VERSION)"
