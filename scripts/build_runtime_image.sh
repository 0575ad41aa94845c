#!/usr/bin/env bash
# Builds the stand-in OpenPLC runtime image locally (no registry is reachable here): busybox-static
# for a shell and tools, the Deno binary of the npm `deno` package with the few glibc libraries it
# links, scripts/standin_runtime/server.ts, and a self-signed v3 certificate made at build time.
# `docker import` of that tree takes a few seconds; nothing is downloaded. Like the real image it
# has a HEALTHCHECK on GET /api/version. Env: STANDIN_API_DELAY_MS (API listens after that delay),
# STANDIN_AUTOSTART=1 (PLC starts RUNNING), STANDIN_COMPILE_MS (upload to SUCCESS, default 1000).
# Tags: edge-orchestrator/openplc-standin:latest and ghcr.io/autonomy-logic/openplc-runtime:standin.
# Skips the build when an image with the same source hash exists (FORCE=1 rebuilds).
set -euo pipefail
case "${1:-}" in
  -h|--help)
    cat <<'USAGE'
Usage: bash scripts/build_runtime_image.sh [--help]

Builds the local stand-in OpenPLC runtime image (edge-orchestrator/openplc-standin:latest) from
busybox-static, the Deno binary and scripts/standin_runtime/server.ts; skipped when up to date
(FORCE=1 rebuilds). Env of the image: STANDIN_API_DELAY_MS, STANDIN_AUTOSTART, STANDIN_COMPILE_MS.
USAGE
    exit 0 ;;
esac
cd "$(dirname "$0")/.."
TAG=edge-orchestrator/openplc-standin:latest
ALIAS=ghcr.io/autonomy-logic/openplc-runtime:standin
src=scripts/standin_runtime
deno_bin=${DENO_BIN:-$(npm root -g 2>/dev/null)/deno/deno}
[ -x "$deno_bin" ] || deno_bin=$(command -v deno)
hash=$( (cat "$0" "$src"/*; "$deno_bin" --version | head -1) | sha256sum | cut -c1-16)
have=$(docker image inspect -f '{{index .Config.Labels "io.edge-orchestrator.standin-hash"}}' "$TAG" 2>/dev/null || true)
if [ "${FORCE:-0}" != 1 ] && [ "$have" = "$hash" ]; then
  docker tag "$TAG" "$ALIAS"
  echo "[build_runtime_image] $TAG is up to date ($hash)" >&2
  exit 0
fi
[ -x /bin/busybox ] || { echo "build_runtime_image: /bin/busybox missing: apt-get install busybox-static" >&2; exit 1; }
root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
mkdir -p "$root"/{bin,app,tmp,etc,lib64,lib/x86_64-linux-gnu}
chmod 1777 "$root/tmp"
cp /bin/busybox "$root/bin/busybox"
for tool in sh ls cat ps ip wget sleep kill; do ln -s busybox "$root/bin/$tool"; done
cp "$deno_bin" "$root/bin/deno"
# busybox wget speaks HTTPS through `openssl s_client` (its built-in TLS fails the handshake with
# the Deno server's rustls), so the health check needs the openssl binary too.
openssl_bin=$(command -v openssl)
cp "$openssl_bin" "$root/bin/openssl"
# Copy the shared libraries the two binaries link (glibc, libgcc, libssl), at the paths ldd reports.
ldd "$deno_bin" "$openssl_bin" | awk '/=> \//{print $3} /^\t\/lib/{print $1}' | while read -r lib; do
  mkdir -p "$root$(dirname "$lib")"
  cp -L "$lib" "$root$lib"
done
cp "$src/server.ts" "$root/app/server.ts"
# v3 certificate (rustls clients reject v1), valid 10 years: a test image is never renewed.
openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj "/CN=openplc-standin" \
  -keyout "$root/app/key.pem" -out "$root/app/cert.pem" 2>/dev/null
echo 'root:x:0:0:root:/tmp:/bin/sh' >"$root/etc/passwd"
# The real image's health check (every 30 s, timeout 10 s, start period 90 s, 3 retries, GET
# /api/version over HTTPS without verifying the self-signed certificate), with busybox wget for
# curl. --start-interval=1s probes every second during the start period, so `starting` turns
# `healthy` about a second after the API answers instead of after the first 30 s interval.
HEALTHCHECK='--interval=30s --timeout=10s --start-period=90s --start-interval=1s --retries=3'
HEALTHCHECK+=' CMD ["/bin/wget", "-q", "--no-check-certificate", "-O", "/dev/null",'
HEALTHCHECK+=' "https://127.0.0.1:8443/api/version"]'
tar -C "$root" -c . | docker import \
  --change 'ENV DENO_DIR=/tmp/deno PATH=/bin' \
  --change 'WORKDIR /app' \
  --change 'EXPOSE 8443' \
  --change "HEALTHCHECK $HEALTHCHECK" \
  --change "LABEL io.edge-orchestrator.standin-hash=$hash" \
  --change 'CMD ["/bin/deno", "run", "--allow-net", "--allow-read", "--allow-env", "/app/server.ts"]' \
  - "$TAG" >/dev/null
docker tag "$TAG" "$ALIAS"
echo "[build_runtime_image] built $TAG and $ALIAS ($hash)" >&2
