"""Closing upstream iterators deterministically.

Every run closes the iterator it reads from before control returns to its own consumer
(DESIGN.md, contract 3). ``async for`` alone never does that: breaking out of a loop over an
async generator leaves the generator suspended until the garbage collector finds it.
"""

from __future__ import annotations

from collections.abc import AsyncIterable, AsyncIterator
from contextlib import asynccontextmanager
from typing import Any, TypeVar

import anyio

T = TypeVar("T")


async def aclose_quietly(iterator: object) -> None:
    """Close ``iterator`` if it can be closed, shielded so a cancelled caller still cleans up."""
    aclose = getattr(iterator, "aclose", None)
    if aclose is not None:
        with anyio.CancelScope(shield=True):
            await aclose()


@asynccontextmanager
async def opened(source: AsyncIterable[T]) -> AsyncIterator[AsyncIterator[T]]:
    """Start one run of ``source`` and close it when the block exits, however it exits.

    >>> async with opened(stream) as items:   # doctest: +SKIP
    ...     first = await anext(items)
    """
    iterator = in_context(aiter(source))
    try:
        yield iterator
    finally:
        await aclose_quietly(iterator)


def in_context(iterator: AsyncIterator[T]) -> AsyncIterator[T]:
    """``iterator``, or, if it is also an async context manager, a generator reading it inside its context.

    Some iterators want ``async with`` around their use: aiostream's streamers warn when iterated
    outside it, and an SDK stream closes its connection in ``__aexit__``.
    """
    if hasattr(iterator, "__aenter__") and hasattr(iterator, "__aexit__"):
        return _inside(iterator)
    return iterator


async def _inside(iterator: Any) -> AsyncIterator[Any]:
    async with iterator as entered:
        async for item in entered:
            yield item


def describe(value: Any) -> str:
    """A short name for a value in error messages: its type and, for callables, its name."""
    name = getattr(value, "__qualname__", None) or getattr(value, "__name__", None)
    kind = type(value).__name__
    return f"{kind} {name!r}" if name and kind not in {"type"} else repr(value)
