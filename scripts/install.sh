#!/usr/bin/env bash
# edge-orchestrator installer: the seeds' installer, step for step, but idempotent and pointable
# at any control plane. Steps: checks (Linux, root) -> dependencies (docker, openssl, curl) ->
# the `orchestrator-shared` volume -> netmon container -> device certificate (provisioning) ->
# agent container -> verification (device id, connected or not).
#
#   install.sh [--server URL] [--provision-url URL] [--server-ca FILE]
#              [--agent-image REF] [--netmon-image REF] [--mtls-dir DIR] [--runtime-image REF]
#              [--add-host NAME:IP] [--timeout S] [--uninstall [--purge]]
#
# Environment: ORCHESTRATOR_AGENT_NAME, ORCHESTRATOR_NETMON_NAME, ORCHESTRATOR_VOLUME rename the
# two containers and the shared volume (tests use them so they never touch a real install).
#
# Running it twice changes nothing: existing containers with the same image and settings are
# kept, an existing valid certificate is kept. --uninstall removes both containers (and the
# volume and certificate with --purge); runtimes are removed by the cloud (delete_orchestrator).
set -euo pipefail
ARGS=("$@")

SERVER=${ORCHESTRATOR_SERVER_URL:-https://api.getedge.me}
PROVISION=""
SERVER_CA=${ORCHESTRATOR_SERVER_CA:-}
AGENT_IMAGE=${AGENT_IMAGE:-ghcr.io/autonomy-logic/orchestrator-agent:latest}
NETMON_IMAGE=${NETMON_IMAGE:-ghcr.io/autonomy-logic/orchestrator-netmon:latest}
RUNTIME_IMAGE=""
MTLS_DIR=${ORCHESTRATOR_MTLS_DIR:-$HOME/.mtls}
ADD_HOST=""
TIMEOUT=60
UNINSTALL=0
PURGE=0
VOLUME=${ORCHESTRATOR_VOLUME:-orchestrator-shared}
AGENT=${ORCHESTRATOR_AGENT_NAME:-orchestrator_agent}
NETMON=${ORCHESTRATOR_NETMON_NAME:-orchestrator_netmon}
LABEL=io.edge-orchestrator

say() { printf '[install] %s\n' "$*"; }
die() { printf '[install] error: %s\n' "$*" >&2; exit 1; }

while [ $# -gt 0 ]; do
  case "$1" in
    --server) SERVER=$2; shift 2 ;;
    --provision-url) PROVISION=$2; shift 2 ;;
    --server-ca) SERVER_CA=$2; shift 2 ;;
    --agent-image) AGENT_IMAGE=$2; shift 2 ;;
    --netmon-image) NETMON_IMAGE=$2; shift 2 ;;
    --runtime-image) RUNTIME_IMAGE=$2; shift 2 ;;
    --mtls-dir) MTLS_DIR=$2; shift 2 ;;
    --add-host) ADD_HOST=$2; shift 2 ;;
    --timeout) TIMEOUT=$2; shift 2 ;;
    --uninstall) UNINSTALL=1; shift ;;
    --purge) PURGE=1; shift ;;
    -h|--help) sed -n '2,19p' "$0"; exit 0 ;;
    *) die "unknown option $1 (see --help)" ;;
  esac
done
PROVISION=${PROVISION:-$SERVER}

# 1. Checks
[ "$(uname -s)" = Linux ] || die "edge-orchestrator runs on Linux only"
if [ "$(id -u)" != 0 ]; then
  command -v sudo >/dev/null || die "run as root (sudo is not available)"
  exec sudo -E bash "$0" "${ARGS[@]}"
fi

remove_container() {
  if docker container inspect "$1" >/dev/null 2>&1; then
    docker rm -f "$1" >/dev/null && say "removed container $1"
  fi
}

if [ "$UNINSTALL" = 1 ]; then
  remove_container "$AGENT"
  remove_container "$NETMON"
  if [ "$PURGE" = 1 ]; then
    docker volume rm "$VOLUME" >/dev/null 2>&1 && say "removed volume $VOLUME" || true
    rm -rf "$MTLS_DIR" && say "removed $MTLS_DIR"
  fi
  say "uninstalled"
  exit 0
fi

# 2. Dependencies
need=()
command -v docker >/dev/null || need+=(docker.io)
command -v openssl >/dev/null || need+=(openssl)
command -v curl >/dev/null || need+=(curl)
if [ ${#need[@]} -gt 0 ]; then
  command -v apt-get >/dev/null || die "missing ${need[*]}: install them and retry"
  say "installing ${need[*]}"
  DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
fi
docker info >/dev/null 2>&1 || die "the Docker engine does not answer: start it (systemctl start docker) and retry"

image_present() {
  docker image inspect "$1" >/dev/null 2>&1 || docker pull -q "$1" >/dev/null 2>&1 ||
    die "image $1 is neither present nor pullable"
}
image_present "$AGENT_IMAGE"
image_present "$NETMON_IMAGE"

# 3. Shared volume
if ! docker volume inspect "$VOLUME" >/dev/null 2>&1; then
  docker volume create --label "$LABEL.managed=1" "$VOLUME" >/dev/null
  say "created volume $VOLUME"
fi

# A container is kept when it exists with the same image and settings (a hash label), else
# replaced. That makes a second run a no-op and an upgrade a re-run.
ensure_container() {
  local name=$1 image=$2; shift 2
  local want; want=$(printf '%s\n' "$image" "$@" | sha256sum | cut -c1-16)
  local have; have=$(docker container inspect -f "{{index .Config.Labels \"$LABEL.config-hash\"}}" "$name" 2>/dev/null || true)
  local running; running=$(docker container inspect -f '{{.State.Running}}' "$name" 2>/dev/null || true)
  if [ "$have" = "$want" ] && [ "$running" = true ]; then
    say "$name is up to date"
    return
  fi
  remove_container "$name"
  docker run -d --name "$name" --label "$LABEL.config-hash=$want" "$@" "$image" >/dev/null
  say "started $name ($image)"
}

# netmon runs as uid 1000 and creates its socket in the volume: the volume's root must be its.
# (A fresh volume copies the image's ownership; this also fixes a volume made by an older run.)
docker run --rm --user 0 --entrypoint chown -v "$VOLUME:/var/orchestrator" "$NETMON_IMAGE" \
  1000:1000 /var/orchestrator

# 4. netmon: host network (it watches the host's interfaces), unprivileged user, no capability
# (netlink reads need none; see Dockerfile.netmon).
ensure_container "$NETMON" "$NETMON_IMAGE" \
  --network=host --restart unless-stopped --cap-drop ALL \
  --label "$LABEL.managed=1" --label "$LABEL.role=netmon" \
  -v "$VOLUME:/var/orchestrator"

# 5. Provisioning: a device id from the provisioning API, an RSA-4096 key made here (it never
# leaves the box), a CSR with CN = id (v3), enrolment, files 600/644 in a 700 directory.
cert_ok() {
  [ -s "$MTLS_DIR/client.crt" ] && [ -s "$MTLS_DIR/client.key" ] &&
    openssl x509 -in "$MTLS_DIR/client.crt" -noout -checkend 86400 >/dev/null 2>&1 &&
    [ "$(openssl x509 -in "$MTLS_DIR/client.crt" -noout -pubkey | sha256sum)" = \
      "$(openssl pkey -in "$MTLS_DIR/client.key" -pubout 2>/dev/null | sha256sum)" ]
}
curl_ca=()
[ -n "$SERVER_CA" ] && curl_ca=(--cacert "$SERVER_CA")
mkdir -p "$MTLS_DIR" && chmod 700 "$MTLS_DIR"
if cert_ok; then
  say "device certificate present in $MTLS_DIR"
else
  id=$(curl -fsS "${curl_ca[@]}" "$PROVISION/orchestrators/id" | sed -n 's/.*"id"[^"]*"\([^"]*\)".*/\1/p')
  [ -n "$id" ] || die "the provisioning API at $PROVISION gave no device id"
  umask 077
  openssl genrsa -out "$MTLS_DIR/client.key" 4096 2>/dev/null
  openssl req -new -key "$MTLS_DIR/client.key" -subj "/CN=$id" -out "$MTLS_DIR/client.csr" \
    -addext "keyUsage=critical,digitalSignature,keyEncipherment" -addext "extendedKeyUsage=clientAuth"
  csr_json=$(awk 'BEGIN{ORS="\\n"} {print}' "$MTLS_DIR/client.csr")
  resp=$(curl -fsS "${curl_ca[@]}" -H 'Content-Type: application/json' \
    -d "{\"id\":\"$id\",\"csr\":\"$csr_json\"}" "$PROVISION/orchestrators/enroll") ||
    die "enrolment at $PROVISION/orchestrators/enroll failed"
  printf '%s' "$resp" | sed -n 's/.*"certificate"[^"]*"\(.*\)".*/\1/p' | sed 's/\\n/\n/g' >"$MTLS_DIR/client.crt"
  openssl x509 -in "$MTLS_DIR/client.crt" -noout >/dev/null 2>&1 || die "enrolment answered no certificate"
  rm -f "$MTLS_DIR/client.csr"
  chmod 600 "$MTLS_DIR/client.key"; chmod 644 "$MTLS_DIR/client.crt"
  say "enrolled device $id"
fi
DEVICE_ID=$(openssl x509 -in "$MTLS_DIR/client.crt" -noout -subject -nameopt multiline | sed -n 's/^ *commonName *= *//p')

# 6. Agent: certificates read-only, the Docker socket, the shared volume. pid=host + SYS_ADMIN
# + NET_ADMIN + SYS_PTRACE let it enter a runtime's network namespace (nsenter) to restore its
# MAC after a re-wire; nothing else needs privileges.
agent_args=(--restart unless-stopped --pid=host
  --cap-add SYS_ADMIN --cap-add NET_ADMIN --cap-add SYS_PTRACE
  --label "$LABEL.managed=1" --label "$LABEL.role=agent"
  -v "$MTLS_DIR:/root/.mtls:ro" -v /var/run/docker.sock:/var/run/docker.sock
  -v "$VOLUME:/var/orchestrator"
  -e "ORCHESTRATOR_SERVER_URL=$SERVER")
if [ -n "$SERVER_CA" ]; then
  agent_args+=(-v "$(readlink -f "$SERVER_CA"):/etc/orchestrator/server-ca.pem:ro"
    -e ORCHESTRATOR_SERVER_CA=/etc/orchestrator/server-ca.pem)
fi
[ -n "$RUNTIME_IMAGE" ] && agent_args+=(-e "ORCHESTRATOR_RUNTIME_IMAGE=$RUNTIME_IMAGE")
[ -n "$ADD_HOST" ] && agent_args+=(--add-host "$ADD_HOST")
ensure_container "$AGENT" "$AGENT_IMAGE" "${agent_args[@]}"

# 7. Verification: the agent logs "Connected to <url>" once the cloud accepted its certificate.
say "device id: $DEVICE_ID"
for _ in $(seq 1 "$TIMEOUT"); do
  if docker logs "$AGENT" 2>&1 | grep -q "Connected to "; then
    say "agent connected to $SERVER"
    exit 0
  fi
  sleep 1
done
say "agent not connected after ${TIMEOUT}s (the device may not be linked to an account yet); see: docker logs $AGENT"
exit 0
