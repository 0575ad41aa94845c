# edge-orchestrator agent image.
# Base images come from the official registry where it is reachable; offline, provide them with
# scripts/build_base_images.sh (debootstrap + the Deno binary from npm) and build the same file.
# Run it with: the Docker socket (it manages runtimes), the shared volume /var/orchestrator, the
# device certificate read-only in /root/.mtls, and CAP_NET_ADMIN + CAP_SYS_ADMIN + pid=host, which
# `nsenter -n ip link set address` needs to restore a runtime's MAC inside its namespace after a
# re-wire (Docker ignores MACs on connect; see docs/decisions). It runs as root: it needs the
# Docker socket (root-equivalent anyway) and nsenter.
ARG DENO_VERSION=2.9.6
FROM denoland/deno:bin-${DENO_VERSION} AS deno

FROM debian:bookworm-slim AS build
COPY --from=deno /deno /usr/local/bin/deno
ENV DENO_DIR=/deno-dir
WORKDIR /app
COPY deno.json deno.lock permissions.json ./
COPY contracts/ contracts/
COPY agent/ agent/
# The agent ships as one bundled file (dist/agent.js, decision 0012: about 4 MiB less RSS than
# the source tree): every npm dependency is fetched and bundled here, at build time, checked
# against deno.lock; the image never downloads at start and holds no npm cache.
# A site whose HTTPS goes through an intercepting proxy passes its CA as a build secret
# (`--secret id=extra_ca,src=/etc/ssl/certs/ca-certificates.crt`); it is used for this step only
# and never stored in a layer. Without the secret Deno trusts its built-in roots.
RUN --mount=type=secret,id=extra_ca,required=false \
    if [ -s /run/secrets/extra_ca ]; then export DENO_CERT=/run/secrets/extra_ca; fi; \
    deno bundle --frozen-lockfile --platform deno --minify --external @balena/dockerignore --external @grpc/grpc-js --external @grpc/proto-loader --external docker-modem --external tar-fs --external uuid --output dist/agent.js agent/main.ts

FROM debian:bookworm-slim
# busybox-static: /bin/busybox gives the DHCP client (udhcpc) run in each runtime's namespace for
# its DHCP vNICs, and arping for the ARP probe of static addresses (agent/lan, decision 0010).
RUN apt-get update && apt-get install -y --no-install-recommends iproute2 ca-certificates busybox-static \
    && apt-get clean \
    && rm -rf /var/lib/apt/lists/*
COPY --from=deno /deno /usr/local/bin/deno
COPY --from=build /app/dist/agent.js /app/dist/agent.js
ENV DENO_DIR=/deno-dir DENO_NO_UPDATE_CHECK=1 ORCHESTRATOR_STATE_DIR=/var/orchestrator
# glibc's malloc with a fixed mmap threshold (its default, 128 KiB, made fixed: a freed large
# block no longer raises it, so the agent's start-up garbage goes back to the kernel instead of
# staying in its heap): about 4 MiB less idle RSS (decision 0012).
ENV MALLOC_MMAP_THRESHOLD_=131072
# Started once here with the ENTRYPOINT's command line (and --help): Deno keeps the bundle's import
# analysis in DENO_DIR, so no container parses the 0.7 MB bundle at its first start, which left
# 13-17 MiB in malloc's heap for the life of the process (decision 0012).
RUN deno run --cached-only --no-config --allow-net --allow-read --allow-write --allow-env --allow-sys=hostname,osRelease,loadavg,networkInterfaces,systemMemoryInfo,uid,gid,cpus,homedir --allow-run=nsenter,df --no-code-cache --v8-flags=--max-semi-space-size=1,--lite-mode,--gc-memory-reducer-start-delay-ms=2000 /app/dist/agent.js --help > /dev/null
WORKDIR /app
VOLUME ["/var/orchestrator"]
# The agent rewrites <state-dir>/health every 30 s and on every link change; stale for 60 s = unhealthy.
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
  CMD test -n "$(find /var/orchestrator/health -mmin -1 2>/dev/null)" || exit 1
ENTRYPOINT ["deno", "run", "--cached-only", "--no-config", "--allow-net", "--allow-read", "--allow-write", "--allow-env", "--allow-sys=hostname,osRelease,loadavg,networkInterfaces,systemMemoryInfo,uid,gid,cpus,homedir", "--allow-run=nsenter,df", "--no-code-cache", "--v8-flags=--max-semi-space-size=1,--lite-mode,--gc-memory-reducer-start-delay-ms=2000", "/app/dist/agent.js"]
