#!/usr/bin/env bash
# The one-command demo: installs Deno from npm when missing, starts a Docker engine when none
# answers and we are root, then `deno task demo` (local control plane + netmon + agent + a vPLC).
set -euo pipefail
case "${1:-}" in
  -h|--help)
    cat <<'USAGE'
Usage: bash scripts/demo.sh [--once] [--help]

The demo: a local control plane, netmon and the agent against the local Docker engine, creating
a demo vPLC on a MACVLAN network over a veth parent (a free address range, never one the machine
uses). Installs Deno from npm when missing, and a Docker engine from Debian when none answers.
Needs root. Ctrl-C removes everything it made and prints `cleaned up` only once it checked.

  --once   create, check every step, clean up and exit (what the test tier runs)
  --help   this text
USAGE
    exit 0 ;;
esac
cd "$(dirname "$0")/.."
bash scripts/ensure_deno.sh
export PATH="$(npm prefix -g 2>/dev/null)/bin:$PATH"
if [ "$(id -u)" != 0 ]; then
  echo "The demo creates a veth parent and MACVLAN networks: run it as root (sudo bash scripts/demo.sh)" >&2
  exit 1
fi
command -v ip >/dev/null && command -v openssl >/dev/null && [ -x /bin/busybox ] || {
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null && apt-get install -y -qq iproute2 openssl busybox-static >/dev/null
}
bash scripts/ensure_docker.sh
exec deno task demo "$@"
