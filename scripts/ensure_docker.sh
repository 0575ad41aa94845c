#!/usr/bin/env bash
# Make sure a Docker engine answers on /var/run/docker.sock.
# When none answers and we are root, install Debian 13's docker.io (engine 26.1, API 1.45: the
# first Debian engine that honours per-endpoint MAC addresses at create time, see
# ../shared/spec/environment.md) and start dockerd in the background. Without root it says in one
# line what is missing and exits 1.
set -euo pipefail
case "${1:-}" in
  -h|--help)
    cat <<'USAGE'
Usage: bash scripts/ensure_docker.sh

Makes sure a Docker engine answers on /var/run/docker.sock: as root, installs Debian 13's
docker.io when missing and starts dockerd in the background.
USAGE
    exit 0 ;;
esac

if docker info >/dev/null 2>&1; then exit 0; fi

if [ "$(id -u)" != 0 ]; then
  echo "No Docker engine answers on /var/run/docker.sock and we are not root: start Docker yourself (e.g. sudo dockerd &) and retry" >&2
  exit 1
fi

if ! command -v dockerd >/dev/null 2>&1; then
  echo "[ensure_docker] installing docker.io (Debian trixie, engine 26.x) and iptables" >&2
  src=/etc/apt/sources.list.d/debian.sources
  if [ -f "$src" ] && ! [ -f /etc/apt/sources.list.d/trixie.sources ]; then
    uri=$(awk '/^URIs:/{print $2; exit}' "$src")
    key=$(awk '/^Signed-By:/{print $2; exit}' "$src")
    printf 'Types: deb\nURIs: %s\nSuites: trixie\nComponents: main\nSigned-By: %s\n' "$uri" "$key" \
      >/etc/apt/sources.list.d/trixie.sources
    # Keep bookworm preferred for everything else: only docker.io is taken from trixie.
    printf 'Package: *\nPin: release n=trixie\nPin-Priority: 100\n' >/etc/apt/preferences.d/trixie-low
  fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null
  apt-get install -y -qq docker.io/trixie iptables iproute2 >/dev/null 2>&1 ||
    apt-get install -y -qq docker.io iptables iproute2 >/dev/null
fi

echo "[ensure_docker] starting dockerd in the background (log: /var/log/dockerd.log)" >&2
# setsid: its own session, so the engine outlives the shell (and process group) that started it.
setsid -f dockerd >>/var/log/dockerd.log 2>&1 </dev/null
# dockerd on this VM answers within ~2 s; 60 s covers a cold disk.
for _ in $(seq 1 120); do
  if docker info >/dev/null 2>&1; then exit 0; fi
  sleep 0.5
done
echo "dockerd did not answer within 60 s: see /var/log/dockerd.log" >&2
exit 1
