"""The servers the benchmarks compare, each run in its own process: ``python -m benchmarks._apps KIND PORT [N]``.

Kinds: ``bare`` (Starlette StreamingResponse of pre-formatted strings), ``sse-starlette``
(EventSourceResponse), ``streamkit`` (streamkit.asgi), and for idle connections only ``floor``:
no ASGI and no HTTP library, a plain asyncio protocol that answers any request with a chunked
SSE response, and one timer that writes a keep-alive chunk to every connection each period --
the least a heartbeat can cost in Python on this machine, a baseline rather than a server. With N the stream has N events then
ends (throughput); without it, one event then idle with heartbeats (idle connections).
"""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import AsyncIterator
from typing import Any

import anyio
import uvicorn

EVENT = "data: {n}\n\n"


def make_app(kind: str, count: int | None, heartbeat: float) -> Any:
    from starlette.applications import Starlette
    from starlette.responses import StreamingResponse
    from starlette.routing import Route

    async def frames() -> AsyncIterator[str]:
        if count is None:
            yield "data: hello\n\n"
            await anyio.sleep_forever()
        for n in range(count):
            yield f"data: {n}\n\n"

    if kind == "bare":

        async def endpoint(request: Any) -> Any:
            return StreamingResponse(frames(), media_type="text/event-stream")

        return Starlette(routes=[Route("/", endpoint)])
    if kind == "sse-starlette":
        from sse_starlette import EventSourceResponse

        async def payloads() -> AsyncIterator[dict[str, str]]:
            if count is None:
                yield {"data": "hello"}
                await anyio.sleep_forever()
            for n in range(count):
                yield {"data": str(n)}

        async def sse_endpoint(request: Any) -> Any:
            return EventSourceResponse(payloads(), ping=int(heartbeat))

        return Starlette(routes=[Route("/", sse_endpoint)])
    if kind == "streamkit":
        import streamkit as sk

        def source(request: Any) -> sk.Stream[bytes]:
            return sk.Stream(lambda: _encoded(frames()), framing=sk.Framing("text/event-stream; charset=utf-8", keepalive=b":\n"))

        return sk.asgi(source, heartbeat=heartbeat)
    raise SystemExit(f"unknown kind {kind!r}")


async def _encoded(frames: AsyncIterator[str]) -> AsyncIterator[bytes]:
    async for frame in frames:
        yield frame.encode()


_FLOOR_HEAD = (
    b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n\r\n"
    b"d\r\ndata: hello\n\n\r\n"
)
_FLOOR_KEEPALIVE = b"2\r\n:\n\r\n"


class _FloorConnection(asyncio.Protocol):
    live: set[asyncio.Transport] = set()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        self.request = b""

    def data_received(self, data: bytes) -> None:
        self.request += data
        if b"\r\n\r\n" in self.request and self.transport not in self.live:
            self.transport.write(_FLOOR_HEAD)
            self.live.add(self.transport)

    def connection_lost(self, exc: Exception | None) -> None:
        self.live.discard(self.transport)


async def _floor(port: int, heartbeat: float) -> None:
    loop = asyncio.get_running_loop()
    server = await loop.create_server(_FloorConnection, "127.0.0.1", port, backlog=4096)
    async with server:
        while True:
            await asyncio.sleep(heartbeat)
            for transport in _FloorConnection.live:
                transport.write(_FLOOR_KEEPALIVE)


def main() -> None:
    kind, port = sys.argv[1], int(sys.argv[2])
    count = int(sys.argv[3]) if len(sys.argv) > 3 and sys.argv[3] != "-" else None
    heartbeat = float(os.environ.get("BENCH_HEARTBEAT", "15"))
    if kind == "floor":
        asyncio.run(_floor(port, heartbeat))
        return
    app = make_app(kind, count, heartbeat)
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="error", lifespan="off", http="h11", backlog=4096)


if __name__ == "__main__":
    main()
