"""Serve a stream as a WSGI application: Flask, Django, waitress, gunicorn, any WSGI server.

The pipeline runs on streamkit's one event-loop thread per process (see ``_core/blocking.py``);
:func:`deliver` writes its frames — joined when the server falls behind, keep-alives while idle,
a framed error at the end — into a bounded hand-off that the server's thread iterates. When the
server closes the response body (the client has gone), the run is cancelled and its cleanup has
run before ``close()`` returns.

A WSGI server learns that a client has gone only when a write to it fails, so an idle stream
notices a disconnect at its next frame or keep-alive: set ``heartbeat`` to bound that delay.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator, Mapping
from http import HTTPStatus
from typing import Any

import anyio.to_thread

from streamkit._core.blocking import SyncIterator, run_sync
from streamkit._core.channel import Channel, push
from streamkit._core.stream import Stream
from streamkit._sinks.deliver import DEFAULT_MAX_CHUNK, deliver
from streamkit._sinks.options import ResponseOptions
from streamkit._sinks.request import Request
from streamkit._sinks.source import StreamSource, check_source, stream_for

logger = logging.getLogger("streamkit")

StartResponse = Callable[..., Any]
WSGIApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]

HANDOFF_WRITES = 8
"""Writes (each possibly many joined frames) waiting for the server's thread at most."""


def wsgi(
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
) -> WSGIApp:
    """A WSGI application that streams ``source`` to every request; the same options as :func:`asgi`.

    >>> app = wsgi(iterate(["a", "b"]) | to_sse(), heartbeat=15)    # doctest: +SKIP
    >>> flask_app.add_url_rule("/events", view_func=lambda: app)      # see docs/recipes.md
    """
    check_source(source, "wsgi")
    options = ResponseOptions(media_type, headers, status, heartbeat, on_error, final, grace, max_chunk)
    reason = _reason(status)

    def app(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        request = Request(
            environ.get("REQUEST_METHOD", "GET"),
            environ.get("PATH_INFO", "/") or "/",
            environ.get("QUERY_STRING", ""),
            _headers(environ),
            read_body=lambda: anyio.to_thread.run_sync(_read_body, environ),
        )
        try:
            stream = run_sync(stream_for, source, request)
        except Exception:
            logger.exception("the stream factory for %s %s failed", request.method, request.path)
            return _internal_error(start_response)
        pairs = options.header_pairs(stream)
        writes = _writes(stream, **options.delivery(stream, dict(pairs)["content-type"]))
        body: SyncIterator[bytes] = SyncIterator(writes, buffer=HANDOFF_WRITES)
        try:
            # The response starts with the first write, so an earlier error is still a 500.
            first = next(body, b"")
        except Exception as error:
            body.close()
            logger.error("the stream for %s %s failed before its first frame", request.method, request.path, exc_info=error)
            return _internal_error(start_response)
        start_response(f"{status} {reason}", [(name.title(), value) for name, value in pairs])
        return _Body(first, body)

    return app


def _writes(stream: Stream[Any], **options: Any) -> Stream[bytes]:
    """The bytes :func:`deliver` writes, as a stream: one item per write."""

    async def produce(channel: Channel[bytes]) -> None:
        await deliver(stream, _ChannelSink(channel), **options)

    return push(produce, max_buffer=1)


class _ChannelSink:
    __slots__ = ("_channel",)

    def __init__(self, channel: Channel[bytes]) -> None:
        self._channel = channel

    async def write(self, data: bytes) -> None:
        await self._channel.send(data)


class _Body:
    """The response body the WSGI server iterates; its ``close()`` cancels the run."""

    __slots__ = ("_first", "_rest")

    def __init__(self, first: bytes, rest: SyncIterator[bytes]) -> None:
        self._first: bytes | None = first
        self._rest = rest

    def __iter__(self) -> Iterator[bytes]:
        if self._first:
            yield self._first
        self._first = None
        yield from self._rest

    def close(self) -> None:
        self._rest.close()


def _internal_error(start_response: StartResponse) -> list[bytes]:
    body = b"Internal Server Error"
    start_response("500 Internal Server Error", [("Content-Type", "text/plain; charset=utf-8"), ("Content-Length", str(len(body)))])
    return [body]


def _headers(environ: Mapping[str, Any]) -> dict[str, str]:
    headers = {}
    for key, value in environ.items():
        if key.startswith("HTTP_"):
            headers[key[5:].replace("_", "-").lower()] = value
    if environ.get("CONTENT_TYPE"):
        headers["content-type"] = environ["CONTENT_TYPE"]
    if environ.get("CONTENT_LENGTH"):
        headers["content-length"] = environ["CONTENT_LENGTH"]
    return headers


def _read_body(environ: Mapping[str, Any]) -> bytes:
    length = environ.get("CONTENT_LENGTH") or "0"
    stream = environ.get("wsgi.input")
    if stream is None or not length.isdigit():
        return b""
    return bytes(stream.read(int(length)))


def _reason(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Unknown"
