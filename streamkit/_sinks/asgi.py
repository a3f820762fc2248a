"""Serve a stream as an ASGI application: uvicorn, hypercorn, or mounted in any ASGI framework."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping, MutableMapping
from typing import Any

import anyio

from streamkit._core.tasks import Pumps
from streamkit._sinks.deliver import DEFAULT_MAX_CHUNK, deliver
from streamkit._sinks.options import ResponseOptions
from streamkit._sinks.request import Request, headers_from_asgi
from streamkit._sinks.source import StreamSource, check_source, stream_for
from streamkit._sinks.transport import direct_writer

logger = logging.getLogger("streamkit")

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


def asgi(
    source: StreamSource,
    *,
    media_type: str | None = None,
    headers: Mapping[str, str] | None = None,
    status: int = 200,
    heartbeat: float | None = None,
    on_error: Callable[[BaseException], bytes | None] | None = None,
    final: bytes | None = None,
    grace: float = 5.0,
    max_chunk: int = DEFAULT_MAX_CHUNK,
) -> ASGIApp:
    """An ASGI 3 application that streams ``source`` to every request.

    ``source`` is a stream (every request gets a fresh run) or a function of the
    :class:`Request`, sync or async, returning one. The media type and protocol headers come
    from the stream's framing step (``to_sse()`` gives ``text/event-stream; charset=utf-8``
    with ``Cache-Control: no-cache`` and ``X-Accel-Buffering: no``); ``media_type`` and
    ``headers`` override them.

    - The response starts with the stream's first frame (or first heartbeat), so an error
      before it still becomes a ``500``. An error after it is logged and ends the stream with
      the framing's error frame (``on_error`` to change it).
    - When the client disconnects, the run is cancelled and the source closed at once, even
      while it waits for its next item.
    - ``heartbeat``: seconds of silence after which keep-alive bytes that every client of the
      format ignores are written (an SSE comment line).
    - On :func:`request_shutdown` (see :func:`serve`) the stream stops, writes ``final`` within
      ``grace`` seconds, and ends.

    >>> app = asgi(iterate(["a", "b"]) | to_sse(), heartbeat=15)   # doctest: +SKIP
    >>> # uvicorn module:app  — or mount it: Starlette(routes=[Mount("/events", app)])
    """
    check_source(source, "asgi")
    options = ResponseOptions(media_type, headers, status, heartbeat, on_error, final, grace, max_chunk)

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind == "lifespan":
            await _lifespan(receive, send)
            return
        if kind != "http":
            raise RuntimeError(f"streamkit.asgi serves HTTP requests, not {kind!r} connections")
        request = Request(
            scope["method"],
            scope["path"],
            scope.get("query_string", b"").decode("latin-1"),
            headers_from_asgi(scope["headers"]),
            read_body=lambda: _read_body(receive),
        )
        response = _Response(send)
        try:
            stream = await stream_for(source, request)
        except Exception:
            logger.exception("the stream factory for %s %s failed", request.method, request.path)
            await response.fail()
            return
        pairs = options.header_pairs(stream)
        response.status = status
        response.headers = [(name.encode("latin-1"), value.encode("latin-1")) for name, value in pairs]
        watcher = Pumps()
        with anyio.CancelScope() as connection:
            watcher.start(_watch_disconnect, receive, response, connection)
            try:
                delivery = await deliver(stream, response, **options.delivery(stream, dict(pairs)["content-type"]))
                # Cut at shutdown: the client stopped reading, so it would not take the end of
                # the body either. Returning unfinished makes the server close the connection.
                if not delivery.cut:
                    await response.finish()
            except Exception as error:
                if response.gone:
                    pass
                elif not response.started:
                    logger.error("the stream for %s %s failed before its first frame", request.method, request.path, exc_info=error)
                    await response.fail()
                else:
                    logger.error("sending the stream for %s %s failed", request.method, request.path, exc_info=error)
            finally:
                await watcher.aclose()

    return app


class _Response:
    """The sink side of one ASGI response.

    ``write_nowait`` (see :class:`Sink`) is there only on servers that allow writing a
    keep-alive straight to the connection (uvicorn: see transport.py); elsewhere it is None.
    """

    __slots__ = ("_send", "write_nowait", "status", "headers", "started", "gone")

    def __init__(self, send: Send) -> None:
        self._send = send
        self.status = 200
        self.headers: list[tuple[bytes, bytes]] = []
        self.started = False
        self.gone = False
        self.write_nowait: Callable[[bytes], bool] | None = direct_writer(send, self)

    async def write(self, data: bytes) -> None:
        try:
            if not self.started:
                self.started = True
                await self._send({"type": "http.response.start", "status": self.status, "headers": self.headers})
            await self._send({"type": "http.response.body", "body": data, "more_body": True})
        except OSError:
            # ASGI 2.4 servers raise OSError from send() once the client has gone.
            self.gone = True
            raise

    async def finish(self) -> None:
        if self.gone:
            return
        if not self.started:
            self.started = True
            await self._send({"type": "http.response.start", "status": self.status, "headers": self.headers})
        await self._send({"type": "http.response.body", "body": b"", "more_body": False})

    async def fail(self) -> None:
        if self.started or self.gone:
            return
        self.started = True
        body = b"Internal Server Error"
        await self._send(
            {
                "type": "http.response.start",
                "status": 500,
                "headers": [(b"content-type", b"text/plain; charset=utf-8"), (b"content-length", str(len(body)).encode())],
            }
        )
        await self._send({"type": "http.response.body", "body": body, "more_body": False})


async def _watch_disconnect(receive: Receive, response: _Response, connection: anyio.CancelScope) -> None:
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            response.gone = True
            connection.cancel()
            return


async def _read_body(receive: Receive) -> bytes:
    parts = []
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise OSError("the client disconnected while sending the request body")
        parts.append(message.get("body", b""))
        if not message.get("more_body", False):
            return b"".join(parts)


async def _lifespan(receive: Receive, send: Send) -> None:
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return
