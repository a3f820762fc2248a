"""HTTP response bodies as streams, for proxying another service (needs ``streamkit[http]``).

Every function returns a cold :class:`streamkit.Stream`: each run sends the request, streams
the body as it arrives, and closes the response when the run ends, however it ends (the
consumer stops, a client disconnects, an error). A non-2xx answer raises
``httpx.HTTPStatusError``. Pass ``client=`` an ``httpx.AsyncClient`` to reuse connections
(it is left open); without one each run uses its own client, with no read timeout.

>>> from streamkit import asgi, http, to_sse
>>> upstream = http.sse("https://api.example.com/v1/events", headers={"authorization": token})  # doctest: +SKIP
>>> app = asgi(upstream | to_sse(), heartbeat=15)       # proxy it to browsers

``sse(url, reconnect=Reconnect(...))`` reconnects after a dropped connection, as a browser's
EventSource does (``Last-Event-ID``, the server's ``retry:``, backoff, a limit), and records
how the run ended in ``.outcome``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from streamkit._core.stream import Stream
from streamkit._framing.sse import DEFAULT_MAX_EVENT_SIZE, ServerSentEvent
from streamkit._framing.steps import decode, parse_ndjson, parse_sse
from streamkit._framing.steps import lines as split_lines
from streamkit._http._eventsource import EventSource, GaveUpError, Outcome, Reconnect
from streamkit._http._response import HTTPRequest
from streamkit._http._sources import SSE_REQUEST_HEADERS, body_stream

__all__ = ["stream_bytes", "lines", "ndjson", "sse", "Reconnect", "EventSource", "Outcome", "GaveUpError"]

Headers = Mapping[str, str] | None


def stream_bytes(
    url: str,
    *,
    method: str = "GET",
    headers: Headers = None,
    params: Any = None,
    json: Any = None,
    content: bytes | str | None = None,
    client: Any = None,
    timeout: float | None = 30.0,
) -> Stream[bytes]:
    """The response body, as the chunks arrive (content encodings such as gzip undone).

    ``timeout`` bounds connecting when streamkit makes the client; reads wait as long as the
    server takes.

    >>> await http.stream_bytes("http://127.0.0.1:8000/export").list()   # doctest: +SKIP
    """
    request = HTTPRequest("stream_bytes", url, method, dict(headers or {}), params, json, content, client, timeout)
    return body_stream(request)


def lines(
    url: str,
    *,
    method: str = "GET",
    headers: Headers = None,
    params: Any = None,
    json: Any = None,
    content: bytes | str | None = None,
    client: Any = None,
    timeout: float | None = 30.0,
    encoding: str = "utf-8",
) -> Stream[str]:
    """The response body decoded (``encoding``) and split into lines, without their line ends."""
    request = HTTPRequest("lines", url, method, dict(headers or {}), params, json, content, client, timeout)
    return body_stream(request) | decode(encoding) | split_lines()


def ndjson(
    url: str,
    *,
    method: str = "GET",
    headers: Headers = None,
    params: Any = None,
    json: Any = None,
    content: bytes | str | None = None,
    client: Any = None,
    timeout: float | None = 30.0,
) -> Stream[Any]:
    """The response body as newline-delimited JSON: one value per line (Ollama, many log APIs).

    >>> async for part in http.ndjson("http://127.0.0.1:11434/api/chat", method="POST", json=body):  # doctest: +SKIP
    ...     print(part["message"]["content"], end="")
    """
    request = HTTPRequest("ndjson", url, method, dict(headers or {}), params, json, content, client, timeout)
    return body_stream(request) | parse_ndjson()


def sse(
    url: str,
    *,
    method: str = "GET",
    headers: Headers = None,
    params: Any = None,
    json: Any = None,
    content: bytes | str | None = None,
    client: Any = None,
    timeout: float | None = 30.0,
    until: str | None = None,
    reconnect: Reconnect | bool | None = None,
    last_event_id: str = "",
    max_event_size: int | None = DEFAULT_MAX_EVENT_SIZE,
) -> Stream[ServerSentEvent]:
    """The response's Server-Sent Events, parsed as browsers do.

    ``until``: end (closing the response) at an event whose data is this sentinel
    (``"[DONE]"``). ``reconnect=True`` or a :class:`Reconnect`: an :class:`EventSource` that
    reconnects after a dropped connection with ``Last-Event-ID`` (starting from
    ``last_event_id``) and tells how it ended in ``.outcome``.

    >>> source = http.sse(url, reconnect=http.Reconnect(max_attempts=3, raise_on_failure=False))  # doctest: +SKIP
    >>> async for event in source:
    ...     handle(event)
    >>> if source.outcome.failed:
    ...     log.warning("gave up: %r", source.outcome.error)
    """
    request = HTTPRequest("sse", url, method, dict(headers or {}), params, json, content, client, timeout)
    if reconnect is not None and reconnect is not False:
        policy = Reconnect() if reconnect is True else reconnect
        if not isinstance(policy, Reconnect):
            raise TypeError(f"streamkit.http.sse(reconnect=...) must be True, False or a Reconnect, got {reconnect!r}")
        return EventSource(request, policy, last_event_id=last_event_id, until=until, max_event_size=max_event_size)
    extra = dict(SSE_REQUEST_HEADERS)
    if last_event_id:
        extra["last-event-id"] = last_event_id
    return body_stream(request, extra) | parse_sse(until=until, max_event_size=max_event_size)
