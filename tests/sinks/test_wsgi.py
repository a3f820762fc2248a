"""streamkit.wsgi under real WSGI servers (waitress, werkzeug), read over loopback."""

from __future__ import annotations

import os
import threading
import time

import anyio
import pytest

import streamkit as sk
from streamkit._sinks.wsgi import wsgi
from tests import httpclient as http
from tests.servers import wait_for, wsgi_server
from tests.sinks.helpers import Probe

SERVERS = ["waitress", "werkzeug"]


@pytest.fixture(params=SERVERS)
def server_kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


async def fetch(url: str, **kwargs: object) -> tuple[int, dict[str, str], bytes]:
    async with http.stream("GET", url, **kwargs) as response:  # type: ignore[arg-type]
        return response.status, response.headers, await response.read_all()


async def test_serves_sse_with_protocol_headers(server_kind: str) -> None:
    probe = Probe(3)
    with wsgi_server(wsgi(probe.stream()), server_kind) as url:
        status, headers, body = await fetch(url + "/")
    assert status == 200
    assert headers["content-type"] == "text/event-stream; charset=utf-8"
    assert headers["cache-control"] == "no-cache" and headers["x-accel-buffering"] == "no"
    assert body == b"id: 0\ndata: 0\n\nid: 1\ndata: 1\n\nid: 2\ndata: 2\n\n"
    assert probe.closed.is_set()


async def test_factory_sees_the_request_and_its_body(server_kind: str) -> None:
    seen = []

    async def factory(request: sk.Request) -> sk.Stream[bytes]:
        seen.append((request.method, request.path, request.query.get("q"), request.last_event_id, await request.json()))
        return sk.iterate([b"ok"])

    with wsgi_server(wsgi(factory, media_type="text/plain"), server_kind) as url:
        async with http.stream("POST", url + "/chat?q=1", headers={"Last-Event-ID": "9"}, body=b'{"m": "hi"}') as response:
            body = await response.read_all()
    assert body == b"ok"
    assert seen == [("POST", "/chat", "1", "9", {"m": "hi"})]


async def test_error_before_the_first_frame_is_a_500(server_kind: str) -> None:
    probe = Probe(fail_after=0)
    with wsgi_server(wsgi(probe.stream()), server_kind) as url:
        status, _, _ = await fetch(url)
    assert status == 500 and probe.closed.is_set()


async def test_error_after_the_first_frame_is_framed(server_kind: str) -> None:
    probe = Probe(fail_after=2)
    with wsgi_server(wsgi(probe.stream()), server_kind) as url:
        status, _, body = await fetch(url)
    assert status == 200
    assert body.endswith(b"id: 1\ndata: 1\n\nevent: error\ndata: failed\n\n")


async def test_client_disconnect_closes_the_source(server_kind: str) -> None:
    # A WSGI server notices a vanished client at its next write: here the next frame, 10 ms on.
    probe = Probe(pause_after=0, pause=0.01)
    with wsgi_server(wsgi(probe.stream()), server_kind) as url:
        async with http.stream("GET", url) as response:
            await response.read_until(b"\n\n", 3)
        closed = time.monotonic()
        latency = await anyio.to_thread.run_sync(lambda: wait_for(probe.closed.is_set))
    print(f"{server_kind}: source finally ran {latency * 1000:.1f} ms after the client closed")
    assert time.monotonic() - closed < 5


async def test_idle_stream_sends_keepalives(server_kind: str) -> None:
    probe = Probe(pause_after=1, pause=3600)
    with wsgi_server(wsgi(probe.stream(), heartbeat=0.05), server_kind) as url:
        async with http.stream("GET", url) as response:
            body = await response.read_until(b":\n", 2)
    assert body.startswith(b"id: 0\ndata: 0\n\n:\n:\n")
    await anyio.to_thread.run_sync(lambda: wait_for(probe.closed.is_set))


async def test_500_connect_disconnect_cycles_leave_no_thread_or_descriptor() -> None:
    probes: list[Probe] = []

    def factory(request: sk.Request) -> sk.Stream[bytes]:
        probes.append(Probe(pause_after=0, pause=0.005))
        return probes[-1].stream()

    with wsgi_server(wsgi(factory, heartbeat=0.5), "waitress") as url:
        async with http.stream("GET", url) as response:
            await response.read_until(b"\n\n", 3)
        await anyio.to_thread.run_sync(lambda: wait_for(lambda: all(p.closed.is_set() for p in probes)))
        threads, fds = threading.active_count(), len(os.listdir("/proc/self/fd"))
        for _ in range(500):
            async with http.stream("GET", url) as response:
                await response.read_until(b"\n\n", 3)
        await anyio.to_thread.run_sync(lambda: wait_for(lambda: all(p.closed.is_set() for p in probes), timeout=20))
        await anyio.to_thread.run_sync(lambda: wait_for(lambda: len(os.listdir("/proc/self/fd")) <= fds, timeout=5))
        assert threading.active_count() <= threads
    assert len(probes) == 501
