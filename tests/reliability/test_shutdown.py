"""Shutdown under uvicorn with several live streams, some of them to clients that stopped reading.

When the server is asked to stop (``handle_exit``, as on SIGTERM), every stream must end within
its grace period: a client that reads gets the final frame, even from a stream that is always
ahead of it; a client that reads too slowly, or not at all (its socket buffers full, the
server's write blocked), gets it or is cut off; and the server exits within grace plus a small
margin. Real clock, real sockets (tests/sinks/test_asgi_lifecycle.py has the
single-stream case).
"""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import AsyncIterator
from typing import Any

import anyio
import pytest

import streamkit as sk
from streamkit._core.tasks import live_pumps
from tests import httpclient as http
from tests.servers import free_port

GRACE = 1.0
MARGIN = 2.0
FINAL = b"event: bye\ndata: restarting\n\n"
BIG = b"data: " + b"x" * (64 * 1024) + b"\n\n"


@pytest.fixture(params=["asyncio", "trio"])
def anyio_backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


class Streams:
    """Per-request sources by path: ``idle`` (two events, then silence), ``busy`` (an event every
    millisecond), ``flood`` (64 KiB frames as fast as they are taken). Records every ``finally``."""

    def __init__(self) -> None:
        self.started: dict[str, int] = {}
        self.closed: dict[str, int] = {}
        self.produced: dict[str, int] = {}
        self.lock = threading.Lock()

    def stream(self, request: sk.Request) -> sk.Stream[bytes]:
        kind = request.path.strip("/")

        async def run() -> AsyncIterator[bytes]:
            with self.lock:
                self.started[kind] = self.started.get(kind, 0) + 1
            try:
                n = 0
                while True:
                    if kind == "idle" and n >= 2:
                        await anyio.sleep_forever()
                    if kind == "busy":
                        await anyio.sleep(0.001)
                    n += 1
                    with self.lock:
                        self.produced[kind] = self.produced.get(kind, 0) + 1
                    yield BIG if kind == "flood" else f"id: {n}\ndata: {n}\n\n".encode()
            finally:
                with self.lock:
                    self.closed[kind] = self.closed.get(kind, 0) + 1

        return sk.Stream(run) | sk.buffer(4)

    def all_closed(self) -> bool:
        with self.lock:
            return self.started == self.closed


async def wait_until(condition: Any, timeout: float, what: str) -> None:
    with anyio.move_on_after(timeout):
        while not condition():
            await anyio.sleep(0.01)
    assert condition(), f"{what}: not within {timeout} s"


async def test_shutdown_with_many_streams_and_slow_clients_ends_within_grace() -> None:
    streams = Streams()
    app = sk.asgi(streams.stream, media_type="text/event-stream; charset=utf-8", final=FINAL, grace=GRACE, heartbeat=0.2)
    port = free_port()
    # Connections still open this long after the stop are aborted (see streamkit.server).
    srv = sk.server(app, port=port, log_level="critical", lifespan="off", timeout_graceful_shutdown=GRACE + 0.5)
    thread = threading.Thread(target=srv.run, name="uvicorn-shutdown", daemon=True)
    thread.start()
    await wait_until(lambda: srv.started, 10, "server start")
    url = f"http://127.0.0.1:{port}"
    readers = {"idle": 3, "busy": 3, "flood": 2}
    bodies: dict[str, list[bytes]] = {kind: [] for kind in readers}
    slow_ends: list[tuple[str, bytes, float]] = []
    asked = gone_at = 0.0
    stop_now = anyio.Event()
    server_gone = anyio.Event()
    connected = 0

    async def reader(kind: str) -> None:
        nonlocal connected
        async with http.stream("GET", f"{url}/{kind}") as response:
            await response.read_until(b"\n\n", 2)
            connected += 1
            await stop_now.wait()
            body = await response.read_all()
        bodies[kind].append(body)

    async def slow(how: str) -> None:
        # "trickle": reads 4 KiB every 50 ms, far slower than the stream is written;
        # "stalled": sends its request and reads nothing. Once the server has gone, both read
        # what their kernel buffers still hold, fast, to see how the connection ended.
        nonlocal connected
        async with await anyio.connect_tcp("127.0.0.1", port) as sock:
            await sock.send(b"GET /flood HTTP/1.1\r\nHost: test\r\n\r\n")
            connected += 1
            data = b""
            with anyio.move_on_after(GRACE + MARGIN + 10):
                if how == "stalled":
                    await server_gone.wait()
                while True:
                    try:
                        data += await sock.receive(65536)
                    except (anyio.EndOfStream, anyio.BrokenResourceError):
                        break
                    if not server_gone.is_set():
                        await anyio.sleep(0.05)
            slow_ends.append((how, data[-64:], time.monotonic() - gone_at))

    async with anyio.create_task_group() as tg:
        for kind, count in readers.items():
            for _ in range(count):
                tg.start_soon(reader, kind)
        for how in ("trickle", "trickle", "stalled", "stalled"):
            tg.start_soon(slow, how)
        await wait_until(lambda: connected == 12, 10, "all connected")
        await anyio.sleep(0.5)  # the floods fill every buffer between the slow clients and their sources
        asked = time.monotonic()
        srv.handle_exit(signal.SIGTERM, None)
        stop_now.set()
        await wait_until(lambda: not thread.is_alive(), GRACE + MARGIN + 5, "server exit")
        gone_at = time.monotonic()
        exited = gone_at - asked
        server_gone.set()

    print(f"\nserver exited {exited:.2f} s after it was asked to stop (grace {GRACE} s)")
    for how, tail, ended in sorted(slow_ends):
        got = "got the final frame" if tail.endswith(FINAL) else "was cut off"
        print(f"  {how} client {got}; its connection's end reached it {ended:.2f} s after the server exited")
    assert exited < GRACE + MARGIN
    # Every client that reads gets the final frame, busy and flooding streams included.
    for kind, count in readers.items():
        assert len(bodies[kind]) == count
        for body in bodies[kind]:
            assert body.endswith(FINAL), f"a {kind} reader did not get the final frame: {body[-80:]!r}"
    # A slow client got the final frame or was cut off, within the grace period: the server
    # has exited, and what is left for the client is only what its kernel buffers already held.
    assert sorted(how for how, _, _ in slow_ends) == ["stalled", "stalled", "trickle", "trickle"]
    for how, _, ended in slow_ends:
        assert ended < MARGIN, f"a {how} client's connection stayed open {ended:.2f} s after the server exited"
    assert streams.all_closed(), (streams.started, streams.closed)
    assert live_pumps() == 0
