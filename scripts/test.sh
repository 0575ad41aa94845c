#!/usr/bin/env bash
# Runs every test tier on a fresh machine: installs Deno from npm when missing, the test tools and
# a Docker engine when we are root, then `deno task test`.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/ensure_deno.sh
export PATH="$(npm prefix -g 2>/dev/null)/bin:$PATH"
bash scripts/ensure_test_tools.sh
bash scripts/ensure_docker.sh
exec deno task test
