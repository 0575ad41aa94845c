#!/usr/bin/env bash
# Tools the test tiers use besides Deno and Docker: iproute2 (ip netns, veth), openssl (test
# certificates), socat, debootstrap (offline base images), busybox-static (stand-in images),
# chromium (browser tier). Installed from Debian's archive when missing and we are root.
set -euo pipefail
case "${1:-}" in
  -h|--help)
    cat <<'USAGE'
Usage: bash scripts/ensure_test_tools.sh

Installs the tools the test tiers use (iproute2, openssl, socat, util-linux, debootstrap,
busybox-static, chromium) from Debian's archive when missing and we are root.
USAGE
    exit 0 ;;
esac
need=()
command -v ip >/dev/null || need+=(iproute2)
command -v openssl >/dev/null || need+=(openssl)
command -v socat >/dev/null || need+=(socat)
command -v nsenter >/dev/null || need+=(util-linux)
command -v debootstrap >/dev/null || need+=(debootstrap)
[ -x /bin/busybox ] || need+=(busybox-static)
command -v chromium >/dev/null || need+=(chromium)
[ ${#need[@]} -eq 0 ] && exit 0
if [ "$(id -u)" != 0 ]; then
  echo "Missing test tools (${need[*]}) and not root: install them with apt-get" >&2
  exit 1
fi
echo "[ensure_test_tools] installing ${need[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >/dev/null
apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
