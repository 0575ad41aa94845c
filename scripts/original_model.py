"""A model of the current Python agent's idle path, for `deno task bench` only (issue 15).

Why it exists: the footprint target is "idle at or below the original with heartbeats", and what
one idle wake-up of a process costs on this VM varies 3-5x from hour to hour. The original agent
cannot be run here, so the bench runs this model beside ours, in the same window, and prints the
ratio. Written from ../shared/spec/original-agent-reference.md (not from the original's code),
on the libraries the original uses, at the versions it names (Debian 12: python3-socketio 5.7.2,
python3-engineio 4.3.4, python3-aiohttp, python3-psutil, python3-docker):

- §2: a `socketio.AsyncClient(reconnection=False, http_session=..., logger=True,
  engineio_logger=True)` over a fresh `aiohttp.ClientSession` with
  `TCPConnector(ssl=ctx, ttl_dns_cache=30, use_dns_cache=True, force_close=True)`; the SSL
  context with TLS >= 1.2, the client cert chain, hostname check; the library loggers at DEBUG
  into a file with "heartbeat" lines filtered out (§12).
- §9.4: the netmon listener's connection loop (no socket: sleep 5 s and look again; connected:
  `readline` with a 1 s timeout, again and again), §7.8's health poll every 60 s after the
  netmon connection (over an empty registry), and the WebRTC (§4) and debug-bridge (§6.3)
  session sweeps every 60 s (no sessions).
- §5.1 with the heartbeat fix (the loop runs while connected): every 5 s
  `psutil.cpu_percent(interval=None)`, `virtual_memory()`, the partitions' disk usage
  (deduplicated, pseudo filesystems skipped), one usage sample into a bounded deque, the device
  stats step in a thread (no devices: nothing to ask Docker), then `emit("heartbeat", ...)`.

Departures, both for the bench's control plane and neither on the idle path's cost: the CA is
the control plane's (the original trusts the system store) and the transport is WebSocket from
the start (the control plane serves no polling; the original upgrades to WebSocket after its
first polling request).

Usage: python3 scripts/original_model.py URL MTLS_DIR CA_FILE LOG_FILE NETMON_SOCKET
"""

import asyncio
import collections
import datetime
import logging
import os
import ssl
import sys
import time

import aiohttp
import psutil
import socketio

SKIP_FS = {
    "tmpfs", "devtmpfs", "overlay", "squashfs", "ramfs", "proc", "sysfs", "cgroup", "cgroup2",
    "debugfs", "tracefs", "pstore", "autofs", "devpts", "mqueue", "hugetlbfs", "fusectl", "none",
}
STARTED = time.time()
USAGE = collections.deque(maxlen=48 * 3600 // 5)


class DropHeartbeat(logging.Filter):
    def filter(self, record):
        return "heartbeat" not in record.getMessage()


def disk_gb():
    seen, used, total = set(), 0, 0
    for p in psutil.disk_partitions(all=False):
        if p.fstype in SKIP_FS or p.device in seen:
            continue
        seen.add(p.device)
        try:
            u = psutil.disk_usage(p.mountpoint)
        except OSError:
            continue
        used, total = used + u.used, total + u.total
    return round(used / 2**30, 1), round(total / 2**30, 1)


def device_stats():
    return []  # no runtimes: the original asks Docker nothing for an empty registry


async def heartbeat_loop(client, agent_id):
    psutil.cpu_percent(interval=None)  # primed at first use
    total = round(psutil.virtual_memory().total / 2**30, 1)
    while True:  # the fixed loop (§5.1): sleep 5 s; if disconnected, stop
        await asyncio.sleep(5)
        if not client.connected:
            break
        cpu = psutil.cpu_percent(interval=None)
        mem = round(psutil.virtual_memory().used / 2**30, 1)
        disk_used, disk_total = disk_gb()
        USAGE.append((int(time.time()), int(cpu), int(mem * 1024)))
        await asyncio.to_thread(device_stats)
        await client.emit("heartbeat", {
            "agent_id": agent_id, "cpu_usage": cpu, "memory_usage": mem, "memory_total": total,
            "disk_usage": disk_used, "disk_total": disk_total,
            "uptime": int(time.time() - STARTED), "status": "active",
            "timestamp": datetime.datetime.now().isoformat(),
        })


async def netmon_listener(path):
    health = None
    while True:
        if not os.path.exists(path):
            await asyncio.sleep(5)
            continue
        try:
            reader, writer = await asyncio.open_unix_connection(path)
        except OSError:
            await asyncio.sleep(5)
            continue
        if health is None:  # lifecycle boot (empty registry), then its 60 s health poll
            health = asyncio.ensure_future(every(60, lambda: [c for c in REGISTRY if c]))
        while True:
            try:
                line = await asyncio.wait_for(reader.readline(), 1)
            except asyncio.TimeoutError:
                continue
            except OSError:
                break
            if not line:
                break
        writer.close()


REGISTRY = {}  # no runtimes


async def every(seconds, fn):
    while True:
        await asyncio.sleep(seconds)
        fn()


async def main(url, mtls_dir, ca_file, log_file, netmon_socket):
    handler = logging.FileHandler(log_file, mode="w")
    handler.addFilter(DropHeartbeat())
    logging.basicConfig(level=logging.DEBUG, handlers=[handler])
    ctx = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=ca_file)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.load_cert_chain(f"{mtls_dir}/client.crt", f"{mtls_dir}/client.key")
    agent_id = "model"
    asyncio.ensure_future(netmon_listener(netmon_socket))
    asyncio.ensure_future(every(60, lambda: None))  # WebRTC sessions idle > 300 s: none
    asyncio.ensure_future(every(60, lambda: None))  # debug sessions idle > 300 s: none
    while True:
        session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(
            ssl=ctx, ttl_dns_cache=30, use_dns_cache=True, force_close=True))
        client = socketio.AsyncClient(reconnection=False, http_session=session, logger=True,
                                      engineio_logger=True)
        task = None

        @client.event
        async def connect():
            nonlocal task
            task = asyncio.ensure_future(heartbeat_loop(client, agent_id))

        try:
            await client.connect(url, transports=["websocket"])
            await client.wait()
        except Exception as err:  # the original logs and retries
            logging.error("connection failed: %s", err)
        finally:
            if task:
                task.cancel()
            await session.close()
        await asyncio.sleep(5)


if __name__ == "__main__":
    asyncio.run(main(*sys.argv[1:6]))
