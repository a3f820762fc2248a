"""Keep-alives written straight to the connection, on servers known to allow it (uvicorn).

An idle stream's only traffic is its keep-alives, so what one costs is what an idle
connection costs. Through ASGI, a keep-alive is a ``send()`` coroutine that builds a message,
which the server turns into an HTTP event, frames and writes: on uvicorn with h11 that
bookkeeping costs as much as the socket write itself. A keep-alive needs none of it -- on a
chunked HTTP/1.1 response it is one self-contained chunk, which changes no state of the
server's protocol -- so where the server is uvicorn and the response is chunked, the heartbeat
wheel writes the chunk to the connection's transport directly.

Anything unexpected (another server, a middleware wrapping ``send``, HTTP/1.0, a fixed
``Content-Length``, a HEAD request, a connection closing or with bytes still waiting for the
client) means no direct write, and the keep-alive goes through ``send()`` as usual.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

__all__ = ["StartedResponse", "direct_writer"]

_CYCLES = {
    # uvicorn's per-request objects, whose bound ``send`` methods are the ASGI send callables.
    ("uvicorn.protocols.http.h11_impl", "RequestResponseCycle"): "h11",
    ("uvicorn.protocols.http.httptools_impl", "RequestResponseCycle"): "httptools",
}
_NEEDS = ("transport", "response_started", "scope")


def direct_writer(send: Callable[..., Any], response: StartedResponse) -> _ChunkWriter | None:
    """A writer of whole chunks to the connection behind ``send``, or None if it cannot have one.

    ``response`` tells whether the response has started, and with what status and headers.
    """
    cycle = getattr(send, "__self__", None)
    implementation = _CYCLES.get((type(cycle).__module__, type(cycle).__qualname__))
    if implementation is None or not all(hasattr(cycle, name) for name in _NEEDS):
        return None
    if implementation == "h11" and not hasattr(getattr(cycle, "conn", None), "their_http_version"):
        return None
    if implementation == "httptools" and not hasattr(cycle, "chunked_encoding"):
        return None
    return _ChunkWriter(cycle, implementation, response)


class StartedResponse(Protocol):
    """What the writer reads of the ASGI response it writes for."""

    started: bool
    status: int
    headers: list[tuple[bytes, bytes]]


class _ChunkWriter:
    """Writes data as one chunk of the response's chunked body, when that is safe right now.

    Called by the heartbeat wheel for thousands of idle connections per turn, so a call after
    the first touches only this object and the transport: whether the body is chunked is
    decided once, when the response has started.
    """

    __slots__ = ("_cycle", "_transport", "_implementation", "_response", "_chunked", "_data", "_chunk")

    def __init__(self, cycle: Any, implementation: str, response: StartedResponse) -> None:
        self._cycle = cycle
        self._transport = cycle.transport
        self._implementation = implementation
        self._response = response
        self._chunked: bool | None = None  # known once the response has started
        self._data = self._chunk = b""  # the last data framed: keep-alives are always the same

    def __call__(self, data: bytes) -> bool:
        """Write ``data`` as a chunk and return True, or return False having written nothing."""
        if not self._chunked and (self._chunked is False or not self._decide()):
            return False
        transport = self._transport
        # Closing: the client has gone, or the server is closing the connection. Bytes still
        # waiting: the connection is not idle, and back-pressure is the writer's business. (The
        # response cannot have ended: its line leaves the wheel before its last message.)
        if transport.is_closing() or transport.get_write_buffer_size() or not data:
            return False
        if data is not self._data:
            self._data, self._chunk = data, b"%x\r\n%b\r\n" % (len(data), data)
        transport.write(self._chunk)
        return True

    def _decide(self) -> bool:
        """Whether the body is chunked, decided for good once the response has started."""
        if not (self._response.started and self._cycle.response_started):
            return False  # not yet: ask again next time
        self._chunked = self._is_chunked()
        return self._chunked

    def _is_chunked(self) -> bool:
        cycle, response = self._cycle, self._response
        if cycle.scope.get("method") == "HEAD" or response.status in (204, 304):
            return False  # no body at all
        if self._implementation == "httptools":
            # Set by uvicorn when it started the response.
            return cycle.chunked_encoding is True
        # h11 frames a response of unknown length with chunks for an HTTP/1.1 peer (and
        # with the connection's end for HTTP/1.0); a Content-Length means no chunks.
        if cycle.conn.their_http_version != b"1.1":
            return False
        return not any(name.lower() in (b"content-length", b"transfer-encoding") for name, _ in response.headers)
