"""Many connections, shutdown: what a long-running server needs from streamkit.asgi."""

from __future__ import annotations

import os
import signal
import threading
import time

import anyio
import psutil

import streamkit as sk
from streamkit._sinks.asgi import asgi
from streamkit._sinks.serve import server as streamkit_server
from streamkit._core.tasks import live_pumps
from tests import httpclient as http
from tests.servers import free_port, wait_for
from tests.sinks.helpers import SSE, Probe


def open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


async def test_500_connect_disconnect_cycles_leave_nothing_behind() -> None:
    probes: list[Probe] = []

    def factory(request: sk.Request) -> sk.Stream[bytes]:
        probe = Probe(pause_after=3, pause=3600)
        probes.append(probe)
        return probe.stream()

    config_port = free_port()
    srv = streamkit_server(asgi(factory, heartbeat=0.5), port=config_port, log_level="warning", lifespan="off")
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    await anyio.to_thread.run_sync(lambda: wait_for(lambda: srv.started))
    url = f"http://127.0.0.1:{config_port}/"
    try:
        # Warm up once, then take the baseline.
        async with http.stream("GET", url) as response:
            await response.read_until(b"\n\n", 3)
        await anyio.to_thread.run_sync(lambda: wait_for(lambda: all(p.closed.is_set() for p in probes)))
        threads, fds = threading.active_count(), open_fds()
        start = time.monotonic()
        for _ in range(500):
            async with http.stream("GET", url) as response:
                await response.read_until(b"\n\n", 3)
        await anyio.to_thread.run_sync(lambda: wait_for(lambda: all(p.closed.is_set() for p in probes), timeout=10))
        elapsed = time.monotonic() - start
        await anyio.to_thread.run_sync(lambda: wait_for(lambda: open_fds() <= fds, timeout=5))
        assert threading.active_count() <= threads  # anyio's idle worker threads may retire meanwhile
        assert live_pumps() == 0, "a connection's pump or the heartbeat wheel outlived its response"
        print(f"500 cycles in {elapsed:.2f} s; every source closed; fds {open_fds()} (baseline {fds})")
    finally:
        srv.should_exit = True
        await anyio.to_thread.run_sync(thread.join, 10)
    assert len(probes) == 501 and all(p.closed.is_set() for p in probes)


async def test_shutdown_sends_the_final_frame_within_grace_and_the_server_exits() -> None:
    probe = Probe(pause_after=2, pause=3600)
    port = free_port()
    srv = streamkit_server(asgi(probe.stream(), final=b"event: bye\ndata: restarting\n\n", grace=2.0), port=port, log_level="warning", lifespan="off")
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    await anyio.to_thread.run_sync(lambda: wait_for(lambda: srv.started))
    async with http.stream("GET", f"http://127.0.0.1:{port}/") as response:
        await response.read_until(b"\n\n", 2)
        asked = time.monotonic()
        srv.handle_exit(signal.SIGTERM, None)
        body = await response.read_all()
    ended = time.monotonic() - asked
    await anyio.to_thread.run_sync(thread.join, 10)
    assert not thread.is_alive(), "the server did not exit"
    assert body.endswith(b"id: 1\ndata: 1\n\nevent: bye\ndata: restarting\n\n")
    assert probe.closed.is_set()
    print(f"stream ended {ended * 1000:.0f} ms after the server was asked to stop")
    assert ended < 2.0 + 1.0


def test_no_threads_or_processes_leaked_by_the_suite_so_far() -> None:
    assert psutil.Process().children() == []


del SSE
