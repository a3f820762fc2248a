"""Response bodies as streams: bytes, lines, NDJSON values, SSE events."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import aclosing
from typing import Any

from streamkit._core.stream import Stream
from streamkit._http._response import HTTPRequest, opened_response

SSE_REQUEST_HEADERS = {"accept": "text/event-stream", "cache-control": "no-cache"}


def body_stream(request: HTTPRequest, headers: dict[str, str] | None = None) -> Stream[bytes]:
    """Each run sends ``request`` and yields the response body as it arrives (decoded from gzip etc.)."""

    async def body() -> AsyncIterator[bytes]:
        async with opened_response(request, headers) as response:
            async with aclosing(response.aiter_bytes()) as chunks:
                async for chunk in chunks:
                    yield chunk

    return Stream(body)


def content_type_of(response: Any) -> str:
    return str(response.headers.get("content-type", "")).split(";")[0].strip().lower()
