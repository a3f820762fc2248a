"""Turning what a sink is given (a stream, or a factory of one per request) into a stream."""

from __future__ import annotations

import inspect
from collections.abc import AsyncIterable, Awaitable, Callable, Iterable
from typing import Any, TypeAlias

from streamkit._core.closing import describe
from streamkit._core.stream import Stream, as_stream
from streamkit._sinks.request import Request
from streamkit._sources.iterables import iterate

StreamSource: TypeAlias = (
    AsyncIterable[Any]
    | Callable[[Request], AsyncIterable[Any] | Iterable[Any] | Awaitable[AsyncIterable[Any] | Iterable[Any]]]
)
"""A stream (each request gets a fresh run), or a function of the request returning one."""


def check_source(source: object, sink: str) -> None:
    if not (isinstance(source, AsyncIterable) or callable(source)):
        raise TypeError(f"{sink}(source) takes a stream or a function of the request returning one, got {describe(source)}")


async def stream_for(source: StreamSource, request: Request) -> Stream[Any]:
    """The stream that serves ``request``."""
    if isinstance(source, AsyncIterable):
        return as_stream(source)
    made = source(request)
    if inspect.isawaitable(made):
        made = await made
    if isinstance(made, AsyncIterable):
        return as_stream(made)
    if isinstance(made, Iterable) and not isinstance(made, str | bytes):
        return iterate(made)
    raise TypeError(f"the stream factory {describe(source)} returned {describe(made)}, not a stream")
