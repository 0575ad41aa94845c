#!/usr/bin/env bash
# Make `deno` available: install the pinned version from the npm registry when it is missing
# (the npm package carries the real binary; JSR and deno.land are not needed).
set -euo pipefail
case "${1:-}" in
  -h|--help)
    cat <<'USAGE'
Usage: bash scripts/ensure_deno.sh

Installs Deno (the pinned version) from the npm registry when `deno` is not on PATH.
USAGE
    exit 0 ;;
esac
DENO_VERSION=2.9.6
if command -v deno >/dev/null 2>&1; then exit 0; fi
if ! command -v npm >/dev/null 2>&1; then
  echo "Deno is missing and so is npm: install Node.js/npm (or Deno ${DENO_VERSION}) first" >&2
  exit 1
fi
echo "[ensure_deno] installing deno@${DENO_VERSION} from the npm registry" >&2
npm install -g --silent "deno@${DENO_VERSION}" >&2
command -v deno >/dev/null 2>&1 || {
  echo "deno@${DENO_VERSION} installed but not on PATH: add \$(npm prefix -g)/bin to PATH" >&2
  exit 1
}
