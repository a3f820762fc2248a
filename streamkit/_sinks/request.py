"""What a stream factory learns about the request it serves."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Mapping
from typing import Any
from types import MappingProxyType
from urllib.parse import parse_qsl


class Request:
    """The request a stream factory is called with, the same under ASGI and WSGI.

    >>> def events(request: Request) -> Stream[bytes]:      # doctest: +SKIP
    ...     return broker.subscribe("news", after=request.last_event_id) | to_sse()
    """

    __slots__ = ("method", "path", "query_string", "_headers", "_query", "_read_body", "_body")

    def __init__(
        self,
        method: str,
        path: str,
        query_string: str,
        headers: Mapping[str, str],
        read_body: Callable[[], Awaitable[bytes]] | None = None,
    ) -> None:
        self.method = method
        """``"GET"``, ``"POST"``, ..."""
        self.path = path
        """The path, without the query string."""
        self.query_string = query_string
        """The raw query string, without the ``?``."""
        self._headers = MappingProxyType(dict(headers))
        self._query: Mapping[str, str] | None = None
        self._read_body = read_body
        self._body: bytes | None = None

    async def body(self) -> bytes:
        """The request body (read once, then cached), e.g. a chat request's JSON."""
        if self._body is None:
            self._body = b"" if self._read_body is None else await self._read_body()
        return self._body

    async def json(self) -> Any:
        """The request body parsed as JSON."""
        return json.loads(await self.body())

    @property
    def headers(self) -> Mapping[str, str]:
        """Request headers, names in lower case (repeated headers joined with ``", "``)."""
        return self._headers

    @property
    def query(self) -> Mapping[str, str]:
        """Query parameters (the first value of each name)."""
        if self._query is None:
            query: dict[str, str] = {}
            for name, value in parse_qsl(self.query_string, keep_blank_values=True):
                query.setdefault(name, value)
            self._query = MappingProxyType(query)
        return self._query

    @property
    def last_event_id(self) -> str | None:
        """The SSE ``Last-Event-ID`` header a reconnecting browser sends, or the ``lastEventId``
        (or ``last_event_id``) query parameter for clients that cannot set headers; else None."""
        header = self._headers.get("last-event-id")
        if header is not None:
            return header
        return self.query.get("lastEventId", self.query.get("last_event_id"))

    def __repr__(self) -> str:
        return f"<Request {self.method} {self.path}>"


def headers_from_asgi(raw: list[tuple[bytes, bytes]] | tuple[tuple[bytes, bytes], ...]) -> dict[str, str]:
    headers: dict[str, str] = {}
    for name, value in raw:
        key = name.decode("latin-1").lower()
        text = value.decode("latin-1")
        headers[key] = f"{headers[key]}, {text}" if key in headers else text
    return headers
