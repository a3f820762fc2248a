"""Keep-alives written straight to the connection, on servers known to allow it (uvicorn).

An idle stream's only traffic is its keep-alives, so what one costs is what an idle
connection costs. Through ASGI, a keep-alive is a ``send()`` coroutine that builds a message,
which the server turns into an HTTP event, frames and writes: on uvicorn with h11 that
bookkeeping costs as much as the socket write itself. A keep-alive needs none of it -- on a
chunked HTTP/1.1 response it is one self-contained chunk, which changes no state of the
server's protocol -- so where the server is uvicorn and the response is chunked, the heartbeat
wheel writes the chunk to the connection's transport directly.

Anything unexpected (another server, a middleware wrapping ``send``, HTTP/1.0, a fixed
``Content-Length``, a HEAD request, a connection gone or applying back-pressure) means no
direct write, and the keep-alive goes through ``send()`` as usual.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

__all__ = ["direct_writer"]

_CYCLES = {
    # uvicorn's per-request objects, whose bound ``send`` methods are the ASGI send callables.
    ("uvicorn.protocols.http.h11_impl", "RequestResponseCycle"): "h11",
    ("uvicorn.protocols.http.httptools_impl", "RequestResponseCycle"): "httptools",
}
_NEEDS = ("transport", "flow", "disconnected", "response_complete", "response_started", "scope")


def direct_writer(send: Callable[..., Any]) -> _ChunkWriter | None:
    """A writer of whole chunks to the connection behind ``send``, or None if it cannot have one."""
    cycle = getattr(send, "__self__", None)
    implementation = _CYCLES.get((type(cycle).__module__, type(cycle).__qualname__))
    if implementation is None or not all(hasattr(cycle, name) for name in _NEEDS):
        return None
    if implementation == "h11" and not hasattr(getattr(cycle, "conn", None), "their_http_version"):
        return None
    if implementation == "httptools" and not hasattr(cycle, "chunked_encoding"):
        return None
    return _ChunkWriter(cycle, implementation)


class _ChunkWriter:
    """Writes data as one chunk of the response's chunked body, when that is safe right now."""

    __slots__ = ("_cycle", "_implementation", "_chunked", "_data", "_chunk")

    def __init__(self, cycle: Any, implementation: str) -> None:
        self._cycle = cycle
        self._implementation = implementation
        self._chunked: bool | None = None  # known once the response has started
        self._data = self._chunk = b""  # the last data framed: keep-alives are always the same

    def __call__(self, data: bytes, headers: Sequence[tuple[bytes, bytes]]) -> bool:
        """Write ``data`` as a chunk and return True, or return False having written nothing.

        ``headers`` are the ones the response was started with.
        """
        cycle = self._cycle
        if cycle.disconnected or cycle.response_complete or not cycle.response_started:
            return False
        # Paused: bytes already wait for the client, so the connection is not idle, and
        # back-pressure is the writer's business.
        if cycle.flow.write_paused or cycle.transport.is_closing():
            return False
        chunked = self._chunked
        if chunked is None:
            chunked = self._chunked = self._is_chunked(headers)
        if not chunked or not data:
            return False
        if data is not self._data:
            self._data, self._chunk = data, b"%x\r\n%b\r\n" % (len(data), data)
        cycle.transport.write(self._chunk)
        return True

    def _is_chunked(self, headers: Sequence[tuple[bytes, bytes]]) -> bool:
        cycle = self._cycle
        if self._implementation == "httptools":
            # Set by uvicorn when it started the response.
            return cycle.chunked_encoding is True
        # h11 frames a response of unknown length with chunks for an HTTP/1.1 peer (and
        # with the connection's end for HTTP/1.0); a Content-Length or a HEAD request
        # means no chunks.
        if cycle.scope.get("method") == "HEAD" or cycle.conn.their_http_version != b"1.1":
            return False
        return not any(name.lower() in (b"content-length", b"transfer-encoding") for name, _ in headers)
