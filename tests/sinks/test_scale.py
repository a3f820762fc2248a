"""Many idle connections in one process: heartbeats reach all, disconnects close all (issue 10's guard)."""

from __future__ import annotations

import time

import anyio

import streamkit as sk
from streamkit._core.tasks import live_pumps
from tests import httpclient as http
from tests.servers import uvicorn_server, wait_for
from tests.sinks.helpers import Probe

CONNECTIONS = 300


async def test_hundreds_of_idle_streams_all_get_keepalives_and_all_close() -> None:
    probes: list[Probe] = []

    def factory(request: sk.Request) -> sk.Stream[bytes]:
        probes.append(Probe(pause_after=1, pause=3600))  # one event, then idle for an hour
        return probes[-1].stream()

    with uvicorn_server(sk.asgi(factory, heartbeat=0.2), backlog=2048) as url:
        received: list[bytes] = []

        async def client(done: anyio.Event) -> None:
            async with http.stream("GET", url) as response:
                body = await response.read_until(b"data: 0\n\n")
                while body.partition(b"data: 0\n\n")[2].count(b":\n") < 2:  # two keep-alives after it
                    body = await response.read_until(b":\n", body.count(b":\n") + 1)
                received.append(body)
            done.set()

        events = [anyio.Event() for _ in range(CONNECTIONS)]
        started = time.monotonic()
        async with anyio.create_task_group() as clients:
            for event in events:
                clients.start_soon(client, event)
        elapsed = time.monotonic() - started
        await anyio.to_thread.run_sync(lambda: wait_for(lambda: all(p.closed.is_set() for p in probes), timeout=10))
        await anyio.to_thread.run_sync(lambda: wait_for(lambda: live_pumps() == 0, timeout=5))
    assert len(probes) == CONNECTIONS
    # Keep-alives are whole comment lines between events (some may come first on a slow start).
    odd = [body for body in received if body.replace(b":\n", b"") != b"id: 0\ndata: 0\n\n"]
    assert not odd, odd[:3]
    print(f"{CONNECTIONS} idle streams each got 2 keep-alives in {elapsed:.2f} s; every source closed on disconnect")
