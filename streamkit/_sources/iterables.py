"""Sources from values: :func:`iterate`, :func:`just`, :func:`empty`, :func:`never`."""

from __future__ import annotations

import inspect
from collections.abc import AsyncIterable, AsyncIterator, Awaitable, Iterable, Iterator
from itertools import islice
from typing import Any, NoReturn, TypeVar, overload

import anyio
import anyio.to_thread

from streamkit._core.closing import aclose_quietly, describe, in_context
from streamkit._core.errors import StreamReusedError
from streamkit._core.stream import Stream, as_stream, once

T = TypeVar("T")

_END: Any = object()


@overload
def iterate(source: AsyncIterable[T]) -> Stream[T]: ...
@overload
def iterate(source: Iterable[T], *, thread: bool = False) -> Stream[T]: ...
@overload
def iterate(source: Awaitable[AsyncIterable[T]]) -> Stream[T]: ...
@overload
def iterate(source: Awaitable[Iterable[T]], *, thread: bool = False) -> Stream[T]: ...
def iterate(source: Any, *, thread: bool = False) -> Stream[Any]:
    """A stream of the items of ``source``.

    ``source`` may be a sync iterable or iterator, an async iterable (an async generator, an
    aiostream stream, another :class:`Stream`), or an awaitable of either. A re-iterable source
    (a list, a range) is read afresh by every run; a one-shot one (a generator object, an
    awaitable) can be read once, and a second run raises :class:`StreamReusedError`.

    With ``thread=True`` a blocking sync iterator (a file object, a generator that sleeps)
    runs in a worker thread, so it does not block the event loop. Cancelling the run waits
    for the current ``next()`` to return, then closes the iterator. Without it, a long sync
    source lets other tasks run (and a cancellation in) every 1024 items.

    >>> await iterate(range(3)).list()           # doctest: +SKIP
    [0, 1, 2]
    """
    if not isinstance(thread, bool):
        raise TypeError(f"thread must be a bool, got {describe(thread)}")
    if isinstance(source, AsyncIterable):
        if thread:
            raise ValueError("thread=True is for blocking sync iterables; this source is already async")
        return as_stream(source)
    if isinstance(source, Iterable):
        return _from_iterable(source, thread)
    if inspect.isawaitable(source):
        return _from_awaitable(source, thread)
    raise TypeError(f"iterate() takes an iterable, an async iterable or an awaitable of one, got {describe(source)}")


def _from_iterable(source: Iterable[T], thread: bool) -> Stream[T]:
    read = _read_in_thread if thread else _read
    if iter(source) is not source:
        return Stream(lambda: read(iter(source)))
    return Stream(once(lambda: read(source), source))


CHECKPOINT_EVERY = 1024
"""A long sync source lets other tasks run, and a cancellation in, once per this many items."""


async def _read(iterator: Iterator[T]) -> AsyncIterator[T]:
    # A checkpoint per item would cost more than the rest of a fused pipeline; one per
    # CHECKPOINT_EVERY items keeps `iterate(range(10**9))` cancellable and fair to other
    # tasks. islice counts in C, so the items in between cost what a bare `for` costs.
    try:
        while (first := next(iterator, _END)) is not _END:
            yield first
            for item in islice(iterator, CHECKPOINT_EVERY - 1):
                yield item
            await anyio.lowlevel.checkpoint()
    finally:
        close = getattr(iterator, "close", None)
        if close is not None:
            close()


async def _read_in_thread(iterator: Iterator[T]) -> AsyncIterator[T]:
    try:
        while (item := await anyio.to_thread.run_sync(next, iterator, _END)) is not _END:
            yield item
    finally:
        close = getattr(iterator, "close", None)
        if close is not None:
            with anyio.CancelScope(shield=True):
                await anyio.to_thread.run_sync(close)


def _from_awaitable(awaitable: Awaitable[Any], thread: bool) -> Stream[Any]:
    used = False

    async def run() -> AsyncIterator[Any]:
        nonlocal used
        if used:
            raise StreamReusedError(f"this stream awaits {describe(awaitable)}, which can be awaited only once")
        used = True
        result = await awaitable
        if isinstance(result, AsyncIterable):
            iterator = in_context(aiter(result))
            try:
                async for item in iterator:
                    yield item
            finally:
                await aclose_quietly(iterator)
        elif isinstance(result, Iterable):
            async for item in (_read_in_thread if thread else _read)(iter(result)):
                yield item
        else:
            raise TypeError(f"iterate(awaitable): the awaitable gave {describe(result)}, which is not iterable")

    return Stream(run)


def just(value: T) -> Stream[T]:
    """A stream of the single item ``value``.

    >>> await just("hi").list()                 # doctest: +SKIP
    ['hi']
    """

    async def run() -> AsyncIterator[T]:
        yield value

    return Stream(run)


def empty() -> Stream[Any]:
    """A stream that ends at once, without an item.

    >>> await empty().list()                         # doctest: +SKIP
    []
    """

    async def run() -> AsyncIterator[Any]:
        return
        yield  # pragma: no cover - makes this an async generator

    return Stream(run)


def never() -> Stream[Any]:
    """A stream that never emits and never ends, until cancelled or closed.

    >>> never() | take_until(2.0)                    # doctest: +SKIP
    """

    async def run() -> AsyncIterator[NoReturn]:
        await anyio.sleep_forever()
        yield  # type: ignore[misc]  # pragma: no cover - unreachable

    return Stream(run)
