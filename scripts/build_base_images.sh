#!/usr/bin/env bash
# Provides the base images our Dockerfiles start FROM, without any registry (offline sites and
# this build machine cannot pull): `debian:bookworm-slim` from debootstrap (Debian's archive) and
# `denoland/deno:bin-<version>` holding only /deno, copied from the npm package of Deno.
# Skips an image that already exists. Needs root, docker, debootstrap, npm.
set -euo pipefail
case "${1:-}" in
  -h|--help)
    cat <<'EOF'
Usage: scripts/build_base_images.sh
Imports the two base images the Dockerfiles start FROM, without any registry:
  debian:bookworm-slim         debootstrap --variant=minbase bookworm (mirror: $DEBIAN_MIRROR,
                               default: the first apt source of this machine)
  denoland/deno:bin-<version>  only /deno, from the npm package deno@$DENO_VERSION (2.9.6)
An image that exists already is kept. Needs root, docker, debootstrap, npm.
EOF
    exit 0 ;;
  "") ;;
  *) echo "build_base_images.sh: unknown argument $1 (see --help)" >&2; exit 2 ;;
esac
DENO_VERSION=${DENO_VERSION:-2.9.6}
MIRROR=${DEBIAN_MIRROR:-$(awk '/^URIs:/{print $2; exit}' /etc/apt/sources.list.d/debian.sources 2>/dev/null || echo http://deb.debian.org/debian)}

have() { docker image inspect "$1" >/dev/null 2>&1; }

if ! have debian:bookworm-slim; then
  command -v debootstrap >/dev/null || { echo "debootstrap is missing: apt-get install debootstrap" >&2; exit 1; }
  dir=$(mktemp -d)
  trap 'rm -rf "$dir"' EXIT
  echo "[base] debootstrap --variant=minbase bookworm from $MIRROR" >&2
  debootstrap --variant=minbase bookworm "$dir" "$MIRROR" >/dev/null
  # Slim it like the official image: no apt lists, docs or man pages.
  rm -rf "$dir"/var/lib/apt/lists/* "$dir"/usr/share/doc/* "$dir"/usr/share/man/* "$dir"/var/cache/apt/*.bin
  tar -C "$dir" -c . | docker import -c 'CMD ["bash"]' - debian:bookworm-slim >/dev/null
  rm -rf "$dir"; trap - EXIT
  echo "[base] imported debian:bookworm-slim" >&2
fi

if ! have "denoland/deno:bin-${DENO_VERSION}"; then
  bin=""
  for cand in "$(npm root -g 2>/dev/null)/deno/deno" "$(command -v deno || true)"; do
    if [ -x "$cand" ] && "$cand" --version 2>/dev/null | grep -q "deno ${DENO_VERSION}"; then bin=$cand; break; fi
  done
  if [ -z "$bin" ]; then
    tmp=$(mktemp -d)
    npm install --prefix "$tmp" --silent "deno@${DENO_VERSION}" >/dev/null
    bin="$tmp/node_modules/deno/deno"
  fi
  dir=$(mktemp -d)
  cp "$bin" "$dir/deno"
  tar -C "$dir" -c deno | docker import - "denoland/deno:bin-${DENO_VERSION}" >/dev/null
  rm -rf "$dir"
  echo "[base] imported denoland/deno:bin-${DENO_VERSION}" >&2
fi
