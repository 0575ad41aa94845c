#!/usr/bin/env bash
# edge-orchestrator installer: the original installer's steps (original-agent-reference.md §10),
# idempotent, pointable at any control plane, and honest about what happened.
#
# Usage: install.sh [options]
#   --server URL          cloud Socket.IO endpoint the agent dials (default https://api.getedge.me)
#   --provision-url URL   provisioning API, HTTPS only (default: the --server URL)
#   --server-ca FILE      extra CA bundle trusted for both (default: the system roots)
#   --agent-image REF     agent image (default ghcr.io/autonomy-logic/orchestrator-agent:latest)
#   --netmon-image REF    netmon image (default ghcr.io/autonomy-logic/autonomy-netmon:latest)
#   --runtime-image REF   image of new runtimes (default: the agent's)
#   --mtls-dir DIR        device certificate directory (default $HOME/.mtls)
#   --add-host NAME:IP    extra /etc/hosts entry of the agent container
#   --timeout S           seconds to wait for the agent's cloud session (default 60)
#   --uninstall           remove both containers; lists this device's runtimes and says they keep
#                         running, unless --remove-runtimes also removes them and their networks
#   --remove-runtimes     with --uninstall: remove this device's runtimes too
#   --purge               with --uninstall: also remove the shared volume and the certificate
#   -h, --help            this text
#
# Steps: checks -> dependencies (docker, openssl, curl, jq) -> images -> device certificate
# (kept when valid; else GET /orchestrators/id, RSA-4096 key made here, CSR, multipart POST
# /orchestrators/enroll, client-use check) -> shared volume -> netmon -> agent -> the agent's own
# word that its cloud session is up. Every failed step prints one line of its own and leaves
# nothing of this run behind (a failed provisioning touches no container, volume or file).
#
# In-place upgrade: on a box running the Python agent (containers orchestrator_agent and
# autonomy_netmon, volume orchestrator-shared, certificate in ~/.mtls) the same command replaces
# both containers, keeps the certificate (no re-enrolment), the volume and its files, and never
# touches a runtime container.
#
# Environment: ORCHESTRATOR_AGENT_NAME, ORCHESTRATOR_NETMON_NAME, ORCHESTRATOR_VOLUME rename the
# two containers and the volume (tests use them so they never touch a real install).
set -euo pipefail
ARGS=("$@")

SERVER=${ORCHESTRATOR_SERVER_URL:-https://api.getedge.me}
PROVISION=""
SERVER_CA=${ORCHESTRATOR_SERVER_CA:-}
AGENT_IMAGE=${AGENT_IMAGE:-ghcr.io/autonomy-logic/orchestrator-agent:latest}
NETMON_IMAGE=${NETMON_IMAGE:-ghcr.io/autonomy-logic/autonomy-netmon:latest}
RUNTIME_IMAGE=""
MTLS_DIR=${ORCHESTRATOR_MTLS_DIR:-$HOME/.mtls}
ADD_HOST=""
TIMEOUT=60
UNINSTALL=0
PURGE=0
REMOVE_RUNTIMES=0
# The reference's names: its troubleshooting guide (docker logs orchestrator_agent, ...) applies.
VOLUME=${ORCHESTRATOR_VOLUME:-orchestrator-shared}
AGENT=${ORCHESTRATOR_AGENT_NAME:-orchestrator_agent}
NETMON=${ORCHESTRATOR_NETMON_NAME:-autonomy_netmon}
LABEL=io.edge-orchestrator
# Inside the containers: the volume, and netmon's own directory in it (netmon, uid 1000, may
# write there and nowhere else; the rest of the volume is root's).
STATE=/var/orchestrator
SOCK_DIR=$STATE/netmon
SOCKET=$SOCK_DIR/netmon.sock
# Memory ceilings, so that a leak in our daemons is killed in their own cgroup and the kernel
# never picks the PLC beside them. The agent idles at 64-73 MiB RSS (Deno + dockerode + zod)
# and grows with concurrent operations and run_command bodies: 256 MiB is 3.5x
# idle; V8's old space is held to 160 MiB so the garbage collector works hard before the cgroup
# limit is near. netmon idles at 42-45 MiB with a 4 MiB netlink buffer and re-dumps on overflow:
# 128 MiB is about 3x. No swap beyond that (memory-swap = memory).
AGENT_MEMORY=256m
AGENT_V8_OLD_SPACE_MB=160
NETMON_MEMORY=128m
# Should the host itself run out of memory, the kernel's OOM killer picks our daemons (they
# restart) before a runtime (adjustment 0).
OOM_SCORE_ADJ=500

say() { printf '[install] %s\n' "$*"; }
die() { printf '[install] error: %s\n' "$*" >&2; exit 1; }
# A bad command line exits 2 (interfaces.md), a failed step 1.
bad_usage() { printf '[install] error: %s (see --help)\n' "$*" >&2; exit 2; }
usage() { sed -n '/^# Usage:/,/^# *-h, --help/p' "$0" | sed 's/^# \{0,1\}//'; }

need_value() { [ $# -ge 2 ] && [ -n "$2" ] && [ "${2#--}" = "$2" ] || bad_usage "$1 needs a value"; }
while [ $# -gt 0 ]; do
  case "$1" in
    --server|--provision-url|--server-ca|--agent-image|--netmon-image|--runtime-image|--mtls-dir|--add-host|--timeout)
      need_value "$@"
      case "$1" in
        --server) SERVER=$2 ;;
        --provision-url) PROVISION=$2 ;;
        --server-ca) SERVER_CA=$2 ;;
        --agent-image) AGENT_IMAGE=$2 ;;
        --netmon-image) NETMON_IMAGE=$2 ;;
        --runtime-image) RUNTIME_IMAGE=$2 ;;
        --mtls-dir) MTLS_DIR=$2 ;;
        --add-host) ADD_HOST=$2 ;;
        --timeout) TIMEOUT=$2 ;;
      esac
      shift 2 ;;
    --uninstall) UNINSTALL=1; shift ;;
    --purge) PURGE=1; shift ;;
    --remove-runtimes) REMOVE_RUNTIMES=1; shift ;;
    -h|--help) usage; exit 0 ;;
    *) bad_usage "unknown option $1" ;;
  esac
done
PROVISION=${PROVISION:-$SERVER}
PROVISION=${PROVISION%/}

# 1. Checks
[ "$(uname -s)" = Linux ] || die "edge-orchestrator runs on Linux only"
if [ "$(id -u)" != 0 ]; then
  command -v sudo >/dev/null || die "run as root (sudo is not available)"
  exec sudo -E bash "$0" "${ARGS[@]}"
fi
[[ "$TIMEOUT" =~ ^[0-9]+$ ]] || bad_usage "--timeout: expected seconds, got \"$TIMEOUT\""
if [ "$UNINSTALL" = 0 ]; then
  # The key and the certificate travel over this URL: never in clear text.
  [[ "$PROVISION" == https://* ]] || die "the provisioning URL must be https:// (got $PROVISION)"
  [[ "$SERVER" == https://* ]] || die "the server URL must be https:// (got $SERVER)"
  [ -z "$SERVER_CA" ] || [ -r "$SERVER_CA" ] || die "--server-ca $SERVER_CA: no such readable file"
fi
[ "$UNINSTALL" = 1 ] || [ "$PURGE$REMOVE_RUNTIMES" = 00 ] ||
  bad_usage "--purge and --remove-runtimes go with --uninstall"

# 2. Dependencies
need=()
command -v docker >/dev/null || need+=(docker.io)
command -v openssl >/dev/null || need+=(openssl)
command -v curl >/dev/null || need+=(curl)
command -v jq >/dev/null || need+=(jq)
if [ ${#need[@]} -gt 0 ]; then
  command -v apt-get >/dev/null || die "missing ${need[*]}: install them and retry"
  say "installing ${need[*]}"
  { DEBIAN_FRONTEND=noninteractive apt-get update -qq &&
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}"; } >/dev/null ||
    die "apt-get could not install ${need[*]}"
fi
docker info >/dev/null 2>&1 || die "the Docker engine does not answer: start it (systemctl start docker) and retry"

# Which containers of the two are there, and whose: "ours" (our labels), "foreign" (the Python
# agent's: no labels can be added to an existing container) or "none".
kind_of() {
  docker container inspect "$1" >/dev/null 2>&1 || { echo none; return; }
  local role; role=$(docker container inspect -f "{{index .Config.Labels \"$LABEL.role\"}}" "$1")
  [ -n "$role" ] && echo ours || echo foreign
}
device_id() {
  openssl x509 -in "$MTLS_DIR/client.crt" -noout -subject -nameopt multiline 2>/dev/null |
    sed -n 's/^ *commonName *= *//p'
}
# Reads a file of the agent's state directory out of its container (running or not; the
# Python agent's too) without any extra image; empty when absent.
state_file() { docker cp "$AGENT:$STATE/$1" - 2>/dev/null | tar -xO 2>/dev/null || true; }

# Runtimes this device owns: ours by label (role runtime, this agent's id), the Python agent's
# (and adopted ones) by the state files it keeps; only names that exist as containers.
owned_runtimes() {
  local id=$1 names=""
  if [ -n "$id" ]; then
    names=$(docker ps -a --filter "label=$LABEL.role=runtime" --filter "label=$LABEL.agent=$id" \
      --format '{{.Names}}')
  fi
  if docker container inspect "$AGENT" >/dev/null 2>&1; then
    names+=$'\n'$(state_file runtime_vnics.json | jq -r 'objects | keys[]' 2>/dev/null || true)
    names+=$'\n'$(state_file data/clients.json | jq -r 'objects | keys[]' 2>/dev/null || true)
  fi
  local n
  for n in $(printf '%s\n' "$names" | sort -u); do
    [ "$n" = "$AGENT" ] || [ "$n" = "$NETMON" ] && continue
    docker container inspect "$n" >/dev/null 2>&1 && echo "$n"
  done
  return 0
}

remove_container() {
  if docker container inspect "$1" >/dev/null 2>&1; then
    docker rm -f "$1" >/dev/null || die "cannot remove container $1"
    say "removed container $1"
  fi
}

# A runtime and the networks only it used (its <name>_internal, a macvlan_* left empty).
remove_runtime() {
  local name=$1 nets net
  nets=$(docker container inspect -f '{{range $k, $v := .NetworkSettings.Networks}}{{$k}} {{end}}' "$name")
  docker rm -f "$name" >/dev/null || die "cannot remove runtime $name"
  for net in $nets; do
    case "$net" in "${name}_internal"|macvlan_*) ;; *) continue ;; esac
    [ "$(docker network inspect -f '{{len .Containers}}' "$net" 2>/dev/null)" = 0 ] &&
      docker network rm "$net" >/dev/null 2>&1 && nets_removed+=("$net")
  done
  say "removed runtime $name"
}

if [ "$UNINSTALL" = 1 ]; then
  id=$(device_id)
  mapfile -t runtimes < <(owned_runtimes "$id")
  # The agent goes first: it must not repair or re-create a runtime while they are removed.
  remove_container "$AGENT"
  if [ ${#runtimes[@]} -gt 0 ]; then
    if [ "$REMOVE_RUNTIMES" = 1 ]; then
      nets_removed=()
      for r in "${runtimes[@]}"; do remove_runtime "$r"; done
      [ ${#nets_removed[@]} -eq 0 ] || say "removed networks ${nets_removed[*]}"
    else
      say "${#runtimes[@]} runtime(s) of device ${id:-?} keep running, managed by nobody now: ${runtimes[*]}"
      say "remove them with: $0 --uninstall --remove-runtimes"
      [ "$PURGE" = 0 ] ||
        say "after --purge a new install gets a new device id, which will not own them"
    fi
  else
    say "no runtime of device ${id:-?} on this engine"
  fi
  remove_container "$NETMON"
  if [ "$PURGE" = 1 ]; then
    if docker volume inspect "$VOLUME" >/dev/null 2>&1; then
      docker volume rm "$VOLUME" >/dev/null || die "cannot remove volume $VOLUME (still in use?)"
      say "removed volume $VOLUME"
    fi
    rm -rf "$MTLS_DIR" && say "removed $MTLS_DIR"
  fi
  say "uninstalled"
  exit 0
fi

# 3. Images, before anything changes: a missing image must not leave half an install.
image_present() {
  docker image inspect "$1" >/dev/null 2>&1 || docker pull -q "$1" >/dev/null 2>&1 ||
    die "image $1 is neither present nor pullable (build it: see README.md, \"The local control plane and the installer\")"
}
image_present "$AGENT_IMAGE"
image_present "$NETMON_IMAGE"

agent_kind=$(kind_of "$AGENT")
netmon_kind=$(kind_of "$NETMON")
if [ "$agent_kind" = foreign ] || [ "$netmon_kind" = foreign ]; then
  say "found containers of another agent ($AGENT: $agent_kind, $NETMON: $netmon_kind): upgrading in place; its certificate, volume and runtimes are kept"
fi

# Everything this run creates, removed again if a later step fails.
WORK=$(mktemp -d)
created_containers=()
created_volume=""
created_mtls_dir=""
rollback() {
  local rc=$?
  if [ $rc -ne 0 ]; then
    local c
    for c in "${created_containers[@]}"; do docker rm -f "$c" >/dev/null 2>&1 || true; done
    [ -z "$created_volume" ] || docker volume rm "$created_volume" >/dev/null 2>&1 || true
    [ -z "$created_mtls_dir" ] || rm -rf "$created_mtls_dir"
  fi
  rm -rf "$WORK"
  exit $rc
}
trap rollback EXIT

# 4. Device certificate
curl_ca=()
[ -n "$SERVER_CA" ] && curl_ca=(--cacert "$SERVER_CA")
# One line for every way a request can fail (curl's exit codes, see curl(1)).
curl_error() {
  case "$1" in
    6) echo "cannot resolve the host of $2" ;;
    7) echo "cannot connect to $2 (nothing listens there, or a firewall refuses)" ;;
    28) echo "no answer from $2 in time" ;;
    35) echo "the TLS handshake with $2 failed" ;;
    51|60) echo "$2 presents a certificate this machine does not trust (pass its CA with --server-ca FILE)" ;;
    77) echo "cannot read the CA file $SERVER_CA" ;;
    *) echo "the request to $2 failed (curl exit code $1)" ;;
  esac
}
# request NAME URL [curl args...]: the body goes to $WORK/NAME; prints the HTTP status.
request() {
  local name=$1 url=$2 code rc=0; shift 2
  # HTTP/1.1: a server that refuses an upload early (before reading the CSR) resets an HTTP/2
  # stream, and curl then reports the reset (exit 92) instead of the server's answer.
  code=$(curl -sS --http1.1 --connect-timeout 10 --max-time 60 "${curl_ca[@]}" -o "$WORK/$name" \
    -w '%{http_code}' "$@" "$url" 2>"$WORK/$name.err") || rc=$?
  [ $rc -eq 0 ] || die "provisioning: $(curl_error $rc "$url")"
  echo "$code"
}
# The server's reason in a refusal, when it sent one.
reason() { jq -r '(.message // .error // empty) | tostring' "$WORK/$1" 2>/dev/null | head -c 300; }

# A present certificate is kept when it is valid for another day, is for client use and
# matches its key: re-running the installer (or upgrading the Python agent) never re-enrols.
cert_ok() {
  [ -s "$MTLS_DIR/client.crt" ] && [ -s "$MTLS_DIR/client.key" ] &&
    openssl x509 -in "$MTLS_DIR/client.crt" -noout -checkend 86400 >/dev/null 2>&1 &&
    openssl x509 -in "$MTLS_DIR/client.crt" -noout -purpose 2>/dev/null | grep -q '^SSL client : Yes' &&
    [ "$(openssl x509 -in "$MTLS_DIR/client.crt" -noout -pubkey | sha256sum)" = \
      "$(openssl pkey -in "$MTLS_DIR/client.key" -pubout 2>/dev/null | sha256sum)" ]
}
if cert_ok; then
  DEVICE_ID=$(device_id)
  say "device certificate present in $MTLS_DIR (device $DEVICE_ID)"
else
  url="$PROVISION/orchestrators/id"
  code=$(request id.json "$url")
  [ "$code" = 200 ] || die "provisioning: GET $url answered HTTP $code $(reason id.json)"
  jq -e . "$WORK/id.json" >/dev/null 2>&1 || die "provisioning: GET $url answered something that is not JSON"
  id=$(jq -r '.data.id // empty | tostring' "$WORK/id.json")
  [ -n "$id" ] || die "provisioning: GET $url gave no device id (data.id)"
  # The id becomes a certificate subject and a file of the cloud: letters, digits, . _ - only.
  [[ "$id" =~ ^[A-Za-z0-9._-]{1,64}$ ]] || die "provisioning: GET $url gave an unusable device id \"$id\""
  expires=$(jq -r '.data.expiresAt // empty | tostring' "$WORK/id.json")

  # The key is made here and never leaves the box. The CSR subject and extensions are the
  # original installer's, so the real cloud signs it as it always did.
  (umask 077 && openssl genrsa -out "$WORK/client.key" 4096 2>/dev/null) ||
    die "openssl could not make a key"
  cat >"$WORK/csr.cnf" <<EOF
[req]
distinguished_name = dn
req_extensions = v3_req
prompt = no
[dn]
C = BR
ST = SP
L = SaoPaulo
O = AutonomyLogic
OU = Production
CN = $id
[v3_req]
keyUsage = keyEncipherment, dataEncipherment
extendedKeyUsage = clientAuth
EOF
  openssl req -new -key "$WORK/client.key" -config "$WORK/csr.cnf" -out "$WORK/client.csr" 2>/dev/null ||
    die "openssl could not make the certificate request"

  url="$PROVISION/orchestrators/enroll"
  code=$(request enroll.json "$url" -F "csr=@$WORK/client.csr")
  [ "$code" = 200 ] || die "provisioning: enrolment at $url answered HTTP $code $(reason enroll.json)"
  jq -e . "$WORK/enroll.json" >/dev/null 2>&1 || die "provisioning: enrolment at $url answered something that is not JSON"
  status=$(jq -r '.statusCode // empty | tostring' "$WORK/enroll.json")
  [ "$status" = 200 ] || die "provisioning: enrolment refused (statusCode ${status:-missing}) $(reason enroll.json)"
  jq -r '.data.certificate // empty | strings' "$WORK/enroll.json" >"$WORK/client.crt"
  [ -s "$WORK/client.crt" ] || die "provisioning: enrolment answered no certificate (data.certificate)"
  openssl x509 -in "$WORK/client.crt" -noout 2>/dev/null || die "provisioning: data.certificate is not a PEM certificate"
  openssl x509 -in "$WORK/client.crt" -noout -purpose | grep -q '^SSL client : Yes' ||
    die "provisioning: the certificate is not for client use (SSL client : No)"
  [ "$(openssl x509 -in "$WORK/client.crt" -noout -pubkey | sha256sum)" = \
    "$(openssl pkey -in "$WORK/client.key" -pubout | sha256sum)" ] ||
    die "provisioning: the certificate is not for the key made here"
  cn=$(openssl x509 -in "$WORK/client.crt" -noout -subject -nameopt multiline | sed -n 's/^ *commonName *= *//p')
  [ "$cn" = "$id" ] || die "provisioning: the certificate is for \"$cn\", not device $id"
  message=$(jq -r '.data.message // empty | tostring' "$WORK/enroll.json")

  # Only now is anything written outside the work directory.
  [ -d "$MTLS_DIR" ] || { mkdir -p "$MTLS_DIR" && created_mtls_dir=$MTLS_DIR; }
  chmod 700 "$MTLS_DIR"
  install -m 600 "$WORK/client.key" "$MTLS_DIR/client.key"
  install -m 644 "$WORK/client.crt" "$MTLS_DIR/client.crt"
  DEVICE_ID=$id
  say "enrolled device $DEVICE_ID${message:+ ($message)}"
  say "link device $DEVICE_ID in the Autonomy Edge app${expires:+ before $expires}"
fi
# From here on the certificate stays, whatever happens: it is valid and the cloud knows it.
created_mtls_dir=""

# 5. Shared volume: root's; netmon (uid 1000) writes only its own directory in it.
if ! docker volume inspect "$VOLUME" >/dev/null 2>&1; then
  docker volume create --label "$LABEL.managed=1" "$VOLUME" >/dev/null || die "cannot create volume $VOLUME"
  created_volume=$VOLUME
  say "created volume $VOLUME"
fi
docker run --rm --network none --user 0 --entrypoint sh -v "$VOLUME:/v" "$NETMON_IMAGE" -c \
  'chown 0:0 /v && chmod 0755 /v && mkdir -p /v/netmon && chown 1000:1000 /v/netmon && chmod 0750 /v/netmon' ||
  die "cannot set the owners of volume $VOLUME"

# A container is kept when it exists with the same image and settings (a hash label), else
# replaced: made under a temporary name first (a bad setting fails before anything is
# removed), then swapped in. That makes a second run a no-op and an upgrade a re-run.
ensure_container() {
  local name=$1 image=$2; shift 2
  local want; want=$(printf '%s\n' "$image" "$@" | sha256sum | cut -c1-16)
  local have; have=$(docker container inspect -f "{{index .Config.Labels \"$LABEL.config-hash\"}}" "$name" 2>/dev/null || true)
  local running; running=$(docker container inspect -f '{{.State.Running}}' "$name" 2>/dev/null || true)
  if [ "$have" = "$want" ] && [ "$running" = true ]; then
    say "$name is up to date"
    return
  fi
  local tmp="$name-new-$$" existed=0
  docker container inspect "$name" >/dev/null 2>&1 && existed=1
  docker create --name "$tmp" --label "$LABEL.config-hash=$want" "$@" "$image" >/dev/null 2>"$WORK/create.err" ||
    die "cannot create container $name: $(head -c 300 "$WORK/create.err")"
  created_containers+=("$tmp")
  remove_container "$name"
  docker rename "$tmp" "$name" || die "cannot rename $tmp to $name"
  # A container that replaced another (an upgrade) stays even if a later step fails: the one it
  # replaced is gone, and ours is the better of the two states.
  unset 'created_containers[-1]'
  [ "$existed" = 1 ] || created_containers+=("$name")
  docker start "$name" >/dev/null 2>"$WORK/start.err" ||
    die "cannot start container $name: $(head -c 300 "$WORK/start.err")"
  say "started $name ($image)"
}

# 6. netmon: host network (it watches the host's interfaces), user 1000, no capability (netlink
# reads need none; see Dockerfile.netmon). Engines with API 1.45+ (Docker 26) mount only its
# directory of the volume; older ones mount the volume, whose root it cannot write.
api=$(docker version -f '{{.Server.APIVersion}}' 2>/dev/null || echo 0)
if [ "$(printf '%s\n1.45\n' "$api" | sort -V | head -n 1)" = 1.45 ]; then
  netmon_mount=(--mount "type=volume,src=$VOLUME,dst=$SOCK_DIR,volume-subpath=netmon")
else
  netmon_mount=(-v "$VOLUME:$STATE")
fi
ensure_container "$NETMON" "$NETMON_IMAGE" \
  --network=host --restart unless-stopped --cap-drop ALL \
  --memory "$NETMON_MEMORY" --memory-swap "$NETMON_MEMORY" --oom-score-adj "$OOM_SCORE_ADJ" \
  --label "$LABEL.managed=1" --label "$LABEL.role=netmon" \
  "${netmon_mount[@]}" -e "NETMON_SOCKET=$SOCKET"

# 7. Agent: certificates read-only, the Docker socket, the shared volume. pid=host + SYS_ADMIN
# + NET_ADMIN + SYS_PTRACE let it enter a runtime's network namespace (nsenter) to restore its
# MAC after a re-wire and to run the DHCP client of its DHCP vNICs; NET_RAW lets udhcpc and the
# ARP probe (arping) use raw sockets; nothing else needs privileges.
agent_args=(--restart unless-stopped --pid=host
  --cap-add SYS_ADMIN --cap-add NET_ADMIN --cap-add SYS_PTRACE --cap-add NET_RAW
  --memory "$AGENT_MEMORY" --memory-swap "$AGENT_MEMORY" --oom-score-adj "$OOM_SCORE_ADJ"
  -e "DENO_V8_FLAGS=--max-old-space-size=$AGENT_V8_OLD_SPACE_MB"
  --label "$LABEL.managed=1" --label "$LABEL.role=agent"
  -v "$(readlink -f "$MTLS_DIR"):/root/.mtls:ro" -v /var/run/docker.sock:/var/run/docker.sock
  -v "$VOLUME:$STATE"
  -e "ORCHESTRATOR_SERVER_URL=$SERVER" -e "ORCHESTRATOR_NETMON_SOCKET=$SOCKET")
if [ -n "$SERVER_CA" ]; then
  agent_args+=(-v "$(readlink -f "$SERVER_CA"):/etc/orchestrator/server-ca.pem:ro"
    -e ORCHESTRATOR_SERVER_CA=/etc/orchestrator/server-ca.pem)
fi
[ -n "$RUNTIME_IMAGE" ] && agent_args+=(-e "ORCHESTRATOR_RUNTIME_IMAGE=$RUNTIME_IMAGE")
[ -n "$ADD_HOST" ] && agent_args+=(--add-host "$ADD_HOST")
ensure_container "$AGENT" "$AGENT_IMAGE" "${agent_args[@]}"
# Installed: from here on nothing is rolled back (a cloud that is not reachable yet is no
# reason to remove a working install).
created_containers=()
created_volume=""

# 8. Verification: the agent's own word (its health file, agent/health_file.ts), not a log
# line: "connected" only for a session that came up after this container started.
say "device id: $DEVICE_ID"
ms() { date -d "$1" +%s%3N 2>/dev/null || echo 0; }
started=$(docker container inspect -f '{{.State.StartedAt}}' "$AGENT")
started_ms=$(ms "$started")
last=""
for _ in $(seq 1 "$TIMEOUT"); do
  health=$(docker exec "$AGENT" cat "$STATE/health" 2>/dev/null || true)
  if [ -n "$health" ]; then
    if ! printf '%s' "$health" | jq -e 'has("connected")' >/dev/null 2>&1; then
      last="its health file has no connection state (an agent image older than this installer)"
    elif [ "$(printf '%s' "$health" | jq -r '.connected')" = true ]; then
      since=$(printf '%s' "$health" | jq -r '.connected_since')
      if [ "$(ms "$since")" -ge "$started_ms" ]; then
        say "agent connected to $SERVER (session up since $since)"
        exit 0
      fi
    fi
  fi
  state=$(docker container inspect -f '{{.State.Status}} {{.RestartCount}}' "$AGENT" 2>/dev/null || echo gone)
  case "$state" in running*) ;; *) last="the agent container is $state" ;; esac
  sleep 1
done
why=$(docker logs --since "$started" "$AGENT" 2>&1 | grep -E 'Cloud link down|Cannot start' | tail -n 1 | cut -c1-300 || true)
say "agent not connected after ${TIMEOUT}s${last:+: $last}${why:+; its last word: ${why}}"
say "if the device is not linked to an account yet, link $DEVICE_ID in the app; then see: docker logs $AGENT"
exit 0
