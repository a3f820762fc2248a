"""Opening one streamed HTTP response per run, with httpx imported only when a run starts."""

from __future__ import annotations

import importlib
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

import anyio

from streamkit._core.closing import describe


def require_httpx(function: str) -> ModuleType:
    """httpx, or an ImportError naming the extra that installs it."""
    try:
        return importlib.import_module("httpx")
    except ImportError as error:
        raise ImportError(
            f"streamkit.http.{function}() needs the 'httpx' package, which is not installed: pip install 'streamkit[http]'"
        ) from error


@dataclass(frozen=True)
class HTTPRequest:
    """What to send; checked when the stream is built, sent once per run."""

    function: str
    url: str
    method: str = "GET"
    headers: Mapping[str, str] = field(default_factory=dict)
    params: Any = None
    json: Any = None
    content: bytes | str | None = None
    client: Any = None
    timeout: float | None = 30.0

    def __post_init__(self) -> None:
        if not isinstance(self.url, str) or not self.url:
            raise TypeError(f"streamkit.http.{self.function}(url) must be a non-empty str, got {describe(self.url)}")
        if not isinstance(self.method, str) or not self.method.isalpha():
            raise ValueError(f"streamkit.http.{self.function}(method=...) must be an HTTP method name, got {self.method!r}")
        if self.json is not None and self.content is not None:
            raise ValueError(f"streamkit.http.{self.function}() takes json= or content=, not both")
        if self.client is not None and not hasattr(self.client, "send"):
            raise TypeError(
                f"streamkit.http.{self.function}(client=...) must be an httpx.AsyncClient, got {describe(self.client)}"
            )
        require_httpx(self.function)  # fail at construction, not in the middle of serving

    def with_headers(self, extra: Mapping[str, str]) -> HTTPRequest:
        """The same request with ``extra`` headers added (the caller's own win)."""
        merged = {**extra, **self.headers}
        return HTTPRequest(
            self.function, self.url, self.method, merged, self.params, self.json, self.content, self.client, self.timeout
        )


@asynccontextmanager
async def opened_response(request: HTTPRequest, headers: Mapping[str, str] | None = None) -> AsyncIterator[Any]:
    """Send ``request`` and yield the streamed response; close it (and an own client) at exit.

    A non-2xx status raises ``httpx.HTTPStatusError`` (its body read, for the message).
    """
    httpx = require_httpx(request.function)
    own_client = request.client is None
    # Streams may idle between events for long: only connecting is bounded by default.
    client = request.client or httpx.AsyncClient(timeout=httpx.Timeout(request.timeout, read=None))
    try:
        built = client.build_request(
            request.method,
            request.url,
            headers={**request.headers, **(headers or {})},
            params=request.params,
            json=request.json,
            content=request.content,
        )
        response = await client.send(built, stream=True)
        try:
            if response.is_error:
                await response.aread()
                response.raise_for_status()
            yield response
        finally:
            # Shielded: a run cancelled by a client's disconnect must still close the response.
            with anyio.CancelScope(shield=True):
                await response.aclose()
    finally:
        if own_client:
            with anyio.CancelScope(shield=True):
                await client.aclose()
