#!/usr/bin/env bash
# Runs every test tier on a fresh machine: installs Deno from npm when missing, the test tools and
# a Docker engine when we are root, then `deno task test`.
set -euo pipefail
case "${1:-}" in
  -h|--help)
    cat <<'USAGE'
Usage: bash scripts/test.sh [--help]

Runs every test tier (`deno task test`: fmt, lint, type check, unit and doc tests, then every
file under tests/), exactly what .ci/run does. Installs Deno from npm when missing, the test
tools and a Docker engine from Debian when we are root.
USAGE
    exit 0 ;;
esac
cd "$(dirname "$0")/.."
bash scripts/ensure_deno.sh
export PATH="$(npm prefix -g 2>/dev/null)/bin:$PATH"
bash scripts/ensure_test_tools.sh
bash scripts/ensure_docker.sh
exec deno task test
