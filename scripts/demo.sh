#!/usr/bin/env bash
# The one-command demo: installs Deno from npm when missing, starts a Docker engine when none
# answers and we are root, then `deno task demo` (local control plane + netmon + agent + a vPLC).
set -euo pipefail
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
