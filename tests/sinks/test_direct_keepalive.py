"""Keep-alives written straight to uvicorn's transport (streamkit/_sinks/transport.py).

Read with a raw socket, so the exact bytes on the wire are checked: every keep-alive must be a
whole, correctly sized chunk of the chunked body, exactly as uvicorn would have framed it, and
where the response is not chunked (HTTP/1.0 under h11) or ``send`` is wrapped by a middleware,
keep-alives must take the ASGI path instead.
"""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

import pytest

import streamkit as sk
from streamkit._sinks import deliver, transport
from tests.servers import uvicorn_server
from tests.sinks.helpers import Probe

KEEPALIVES = 3
FIRST_EVENT = b"id: 0\ndata: 0\n\n"


@pytest.fixture
def paths(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, int]]:
    """Count keep-alives written directly and through ``send()``."""
    counts = {"direct": 0, "send": 0}
    direct_call = transport._ChunkWriter.__call__
    send_keepalive = deliver._write_keepalive

    def counted_direct(self: Any, data: bytes) -> bool:
        wrote = direct_call(self, data)
        counts["direct"] += wrote
        return wrote

    async def counted_send(*args: Any) -> None:
        counts["send"] += 1
        await send_keepalive(*args)

    monkeypatch.setattr(transport._ChunkWriter, "__call__", counted_direct)
    monkeypatch.setattr(deliver, "_write_keepalive", counted_send)
    yield counts


def idle_app() -> Any:
    return sk.asgi(lambda request: Probe(pause_after=1).stream(), heartbeat=0.05)


def response(url: str, request: bytes, until: bytes) -> tuple[bytes, bytes]:
    """Send ``request``; read until the body holds ``until`` (5 s at most); return head and body."""
    host, port = url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=5) as sock:
        sock.sendall(request)
        data = b""
        deadline = time.monotonic() + 5
        while until not in data.partition(b"\r\n\r\n")[2]:
            assert time.monotonic() < deadline, data
            chunk = sock.recv(4096)
            assert chunk, data
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    return head.lower(), body


def dechunk(body: bytes) -> list[bytes]:
    """The chunks of a chunked body (a last, incomplete chunk is left out); strict about framing."""
    chunks = []
    while b"\r\n" in body:
        size_line, _, rest = body.partition(b"\r\n")
        size = int(size_line, 16)
        if len(rest) < size + 2:
            break
        assert rest[size : size + 2] == b"\r\n", body
        chunks.append(rest[:size])
        body = rest[size + 2 :]
    return chunks


@pytest.mark.parametrize("server", ["h11", "httptools"])
def test_keepalives_go_straight_to_the_connection_as_whole_chunks(server: str, paths: dict[str, int]) -> None:
    with uvicorn_server(idle_app(), http=server) as url:
        head, body = response(url, b"GET / HTTP/1.1\r\nHost: test\r\n\r\n", b"2\r\n:\n\r\n" * KEEPALIVES)
    assert b"transfer-encoding: chunked" in head
    chunks = dechunk(body)
    assert chunks[0] == FIRST_EVENT
    assert chunks[1:] == [b":\n"] * len(chunks[1:]) and len(chunks) - 1 >= KEEPALIVES
    # Every keep-alive took the direct path; none went through send().
    assert paths["direct"] >= len(chunks) - 1 and paths["send"] == 0


def test_http_1_0_responses_are_not_chunked_so_keepalives_go_through_send(paths: dict[str, int]) -> None:
    with uvicorn_server(idle_app(), http="h11") as url:
        head, body = response(url, b"GET / HTTP/1.0\r\nHost: test\r\n\r\n", b":\n" * KEEPALIVES)
    assert b"transfer-encoding" not in head
    assert body.startswith(FIRST_EVENT) and body[len(FIRST_EVENT) :] == b":\n" * (len(body[len(FIRST_EVENT) :]) // 2)
    assert paths["direct"] == 0 and paths["send"] >= KEEPALIVES


def test_a_middleware_wrapping_send_gets_keepalives_through_send(paths: dict[str, int]) -> None:
    app = idle_app()

    async def middleware(scope: Any, receive: Any, send: Any) -> None:
        async def logged_send(message: Any) -> None:
            await send(message)

        await app(scope, receive, logged_send)

    with uvicorn_server(middleware, http="h11") as url:
        _, body = response(url, b"GET / HTTP/1.1\r\nHost: test\r\n\r\n", b"2\r\n:\n\r\n" * KEEPALIVES)
    chunks = dechunk(body)
    assert chunks[0] == FIRST_EVENT and chunks[1:] == [b":\n"] * len(chunks[1:])
    assert paths["direct"] == 0 and paths["send"] >= KEEPALIVES


@pytest.mark.parametrize("server", ["h11", "httptools"])
def test_a_content_length_set_by_the_app_means_no_chunks_in_the_body(server: str, paths: dict[str, int]) -> None:
    length = len(FIRST_EVENT) + 2 * KEEPALIVES
    app = sk.asgi(lambda request: Probe(pause_after=1).stream(), heartbeat=0.05, headers={"Content-Length": str(length)})
    with uvicorn_server(app, http=server) as url:
        head, body = response(url, b"GET / HTTP/1.1\r\nHost: test\r\n\r\n", b":\n" * KEEPALIVES)
    assert f"content-length: {length}".encode() in head and b"transfer-encoding" not in head
    assert body[:length] == FIRST_EVENT + b":\n" * KEEPALIVES
    assert paths["direct"] == 0 and paths["send"] >= KEEPALIVES


def test_no_direct_keepalive_while_bytes_wait_for_the_client() -> None:
    # Bytes still waiting in the transport mean the connection is not idle (and back-pressure is
    # the writer's business): the direct path declines, on a real asyncio transport whose peer
    # reads nothing, and writes again once the peer has taken everything.
    class Response:
        started = True
        status = 200
        headers = [(b"content-type", b"text/event-stream")]

    async def main() -> list[bool]:
        ours, peer = socket.socketpair()
        with peer:
            connection, _ = await asyncio.get_running_loop().connect_accepted_socket(asyncio.Protocol, ours)
            # What the writer reads of uvicorn's h11 cycle, around a real transport.
            cycle = SimpleNamespace(
                transport=connection, response_started=True, scope={"method": "GET"}, conn=SimpleNamespace(their_http_version=b"1.1")
            )
            write = transport._ChunkWriter(cycle, "h11", Response())
            wrote = [write(b":\n")]
            assert peer.recv(100) == b"2\r\n:\n\r\n"
            while not connection.get_write_buffer_size():  # fill the socket buffers: bytes wait
                connection.write(b"x" * 65536)
            waiting = connection.get_write_buffer_size()
            wrote.append(write(b":\n"))
            assert connection.get_write_buffer_size() == waiting, "a keep-alive was queued behind waiting bytes"
            peer.setblocking(False)
            for _ in range(1000):  # the peer reads everything
                try:
                    while peer.recv(1 << 20):
                        pass
                except BlockingIOError:
                    pass
                if not connection.get_write_buffer_size():
                    break
                await asyncio.sleep(0.005)
            wrote.append(write(b":\n"))
            connection.close()
            return wrote

    assert asyncio.run(main()) == [True, False, True]
