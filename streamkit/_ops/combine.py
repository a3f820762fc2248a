"""Operators that combine streams or manage a run: merge, chain, zip, buffer, catch, retry, switch_map."""

from __future__ import annotations

import builtins
import logging
from collections.abc import AsyncIterable, AsyncIterator, Awaitable, Callable
from typing import Any, Literal, TypeVar, overload

import anyio

from streamkit._core.closing import describe, opened
from streamkit._core.errors import StreamReusedError
from streamkit._core.mailbox import ConsumerGone, Mailbox, forward
from streamkit._core.stream import Step, generator_step
from streamkit._core.validate import (
    check_callable,
    check_exception_types,
    check_positive_int,
    check_seconds,
    check_whole,
)
from streamkit._ops._pumped import running
from streamkit._ops._util import is_async_callable

T = TypeVar("T")
U = TypeVar("U")
V = TypeVar("V")

logger = logging.getLogger("streamkit")


def _check_sources(operator: str, sources: tuple[object, ...]) -> None:
    for n, source in builtins.enumerate(sources):
        if not isinstance(source, AsyncIterable):
            raise TypeError(f"{operator}(): argument {n + 1} must be a stream or async iterable, got {describe(source)}")


def merge(*others: AsyncIterable[U]) -> Step[T, T | U]:
    """Interleave the items of the source and ``others`` as they arrive.

    Every source is read by its own background task, one item ahead at most. The merged
    stream ends when all sources have ended. The first error ends it (after the items that
    came before) and cancels the other sources, whose cleanup runs before the error reaches
    the consumer.

    >>> tokens | merge(interval(15) | map(lambda _: PING))      # doctest: +SKIP
    """
    _check_sources("merge", others)

    async def merged(source: AsyncIterable[Any]) -> AsyncIterator[Any]:
        sources = (source, *others)
        box: Mailbox[Any] = Mailbox(len(sources), producers=len(sources))
        async with running(box) as pumps:
            for each in sources:
                pumps.start(forward, each, box)
            async for item in box:
                yield item
            pumps.raise_error()

    return generator_step(merged)


def chain(*others: AsyncIterable[U]) -> Step[T, T | U]:
    """The source's items, then each of ``others`` in turn, each run to its end before the next starts.

    >>> await (iterate([1]) | chain(iterate([2, 3]))).list()  # doctest: +SKIP
    [1, 2, 3]
    """
    _check_sources("chain", others)

    async def chained(source: AsyncIterable[Any]) -> AsyncIterator[Any]:
        for each in (source, *others):
            async with opened(each) as items:
                async for item in items:
                    yield item

    return generator_step(chained)


@overload
def zip(other: AsyncIterable[U], /) -> Step[T, tuple[T, U]]: ...
@overload
def zip(other: AsyncIterable[U], other2: AsyncIterable[V], /) -> Step[T, tuple[T, U, V]]: ...
@overload
def zip(*others: AsyncIterable[Any]) -> Step[Any, tuple[Any, ...]]: ...
def zip(*others: AsyncIterable[Any]) -> Step[Any, tuple[Any, ...]]:
    """Pair the n-th items of the source and ``others`` into tuples; end when any of them ends.

    All sources are read concurrently, one item ahead at most, so the slowest sets the pace.

    >>> await (iterate("ab") | zip(iterate([1, 2]))).list()     # doctest: +SKIP
    [('a', 1), ('b', 2)]
    """
    if not others:
        raise TypeError("zip() needs at least one other stream")
    _check_sources("zip", others)

    async def zipped(source: AsyncIterable[Any]) -> AsyncIterator[tuple[Any, ...]]:
        sources = (source, *others)
        boxes: list[Mailbox[Any]] = [Mailbox() for _ in sources]
        async with running(*boxes) as pumps:
            for each, box in builtins.zip(sources, boxes):
                pumps.start(forward, each, box)
            while True:
                row = []
                for box in boxes:
                    try:
                        row.append(await box.get())
                    except anyio.EndOfStream:
                        pumps.raise_error()
                        return
                yield tuple(row)

    return generator_step(zipped)


class BufferOverflowError(Exception):
    """A ``buffer(overflow="error")`` was full when the source produced another item."""


Overflow = Literal["wait", "drop_oldest", "drop_newest", "error"]
_OVERFLOWS = ("wait", "drop_oldest", "drop_newest", "error")


def buffer(size: int, *, overflow: Overflow = "wait") -> Step[T, T]:
    """Decouple the source from the consumer with a buffer of up to ``size`` items.

    The source is read by a background task that runs ahead of the consumer. When the buffer
    is full, ``overflow`` decides:

    - ``"wait"`` (default): the source waits for the consumer; nothing is dropped;
    - ``"drop_oldest"``: the oldest buffered item is dropped for the new one;
    - ``"drop_newest"``: the new item is dropped;
    - ``"error"``: the stream ends with :class:`BufferOverflowError` after the buffered items.

    Dropped items are counted in the ``streamkit`` logger at DEBUG level.

    >>> sensor | buffer(100, overflow="drop_oldest")            # doctest: +SKIP
    """
    check_positive_int("buffer(size)", size)
    if overflow not in _OVERFLOWS:
        raise ValueError(f"buffer(overflow=...) must be one of {', '.join(map(repr, _OVERFLOWS))}, got {overflow!r}")

    def overflow_policy(box: Mailbox[Any]) -> Callable[[Any], Awaitable[None]] | None:
        if overflow == "wait":
            return None

        async def when_full(item: Any) -> None:
            if overflow == "drop_oldest":
                box.push_out_oldest(item)
                logger.debug("buffer(%d): dropped the oldest item", size)
            elif overflow == "drop_newest":
                logger.debug("buffer(%d): dropped the newest item", size)
            else:
                raise BufferOverflowError(f"buffer({size}) overflowed: the consumer fell behind by more than {size} items")
            # Nothing waited here: let the consumer run before the next item.
            await anyio.lowlevel.checkpoint()

        return when_full

    async def buffered(source: AsyncIterable[Any]) -> AsyncIterator[Any]:
        box: Mailbox[Any] = Mailbox(size)
        async with running(box) as pumps:
            pumps.start(forward, source, box, overflow_policy(box))
            async for item in box:
                yield item
            pumps.raise_error()

    return generator_step(buffered)


def catch(
    fallback: AsyncIterable[U] | Callable[[Exception], AsyncIterable[U]],
    *,
    exceptions: type[Exception] | tuple[type[Exception], ...] = Exception,
) -> Step[T, T | U]:
    """On an error of one of the ``exceptions`` types, continue with ``fallback`` instead.

    ``fallback`` is a stream, or a function of the error returning one. Items emitted before
    the error are kept; the failed source is closed before the fallback starts. Other errors,
    and cancellation, pass through unchanged.

    >>> llm_stream | catch(lambda e: just(f"[error: {e}]"))     # doctest: +SKIP
    """
    if not isinstance(fallback, AsyncIterable):
        check_callable("catch(fallback)", fallback)
    check_exception_types("catch(exceptions)", exceptions)

    async def caught(source: AsyncIterable[Any]) -> AsyncIterator[Any]:
        try:
            async with opened(source) as items:
                async for item in items:
                    yield item
            return
        except exceptions as error:
            replacement = fallback if isinstance(fallback, AsyncIterable) else fallback(error)
        async with opened(replacement) as items:
            async for item in items:
                yield item

    return generator_step(caught)


def retry(
    retries: int,
    *,
    backoff: float = 0.0,
    factor: float = 2.0,
    max_backoff: float = 60.0,
    exceptions: type[Exception] | tuple[type[Exception], ...] = Exception,
    before_first_item: bool = False,
) -> Step[T, T]:
    """Run the source again, up to ``retries`` times, when it fails with one of ``exceptions``.

    Waits ``backoff`` seconds before the first retry, multiplied by ``factor`` before each
    next one (at most ``max_backoff``). Every retry is a fresh run of the (cold) source; a
    one-shot source cannot be retried and raises :class:`StreamReusedError`. After the last
    retry the error is raised.

    A retry replays the source from its start, so items before the failure are emitted
    again. With ``before_first_item=True`` only failures before the first item are retried,
    so a half-streamed answer is never silently repeated: a later failure is raised.

    >>> llm_stream | retry(3, backoff=0.5, before_first_item=True)  # doctest: +SKIP
    """
    check_whole("retry(retries)", retries)
    check_seconds("retry(backoff)", backoff)
    check_seconds("retry(max_backoff)", max_backoff)
    if isinstance(factor, bool) or not isinstance(factor, int | float) or not factor >= 1:
        raise ValueError(f"retry(factor) must be a number >= 1, got {factor!r}")
    check_exception_types("retry(exceptions)", exceptions)

    async def retried(source: AsyncIterable[Any]) -> AsyncIterator[Any]:
        wait = backoff
        for attempt in builtins.range(retries + 1):
            emitted = False
            try:
                async with opened(source) as items:
                    async for item in items:
                        emitted = True
                        yield item
                return
            except StreamReusedError:
                raise  # a source that cannot restart: another attempt cannot help
            except exceptions as error:
                if attempt == retries or (before_first_item and emitted):
                    raise
                logger.info("retry(): attempt %d failed with %r; retrying in %.3g s", attempt + 1, error, wait)
            await anyio.sleep(wait)
            wait = min(wait * factor, max_backoff)

    return generator_step(retried)


def switch_map(function: Callable[[T], AsyncIterable[U] | Awaitable[AsyncIterable[U]]]) -> Step[T, U]:
    """For every item, switch to the stream ``function(item)``, cancelling the previous one.

    The previous inner stream is closed as soon as a new item arrives. The result ends when
    the source and the last inner stream have both ended; an error in either ends it.

    >>> queries | debounce(0.3) | switch_map(search)            # doctest: +SKIP
    """
    check_callable("switch_map(function)", function)
    is_async = is_async_callable(function)

    async def switched(source: AsyncIterable[Any]) -> AsyncIterator[Any]:
        # Items are (generation, item): generation 0 is the source, _END marks an end. The
        # pumps come and go, so the box is ended by the consumer (or an error), never by them.
        box: Mailbox[tuple[int, Any]] = Mailbox(2)

        async def pump(generation: int, open_stream: Callable[[], Awaitable[AsyncIterable[Any]]]) -> None:
            try:
                async with opened(await open_stream()) as items:
                    async for item in items:
                        await box.put((generation, item))
                await box.put((generation, _END))
            except ConsumerGone:
                pass
            except Exception as error:
                box.close(error)

        async def outer() -> AsyncIterable[Any]:
            return source

        def inner_of(item: Any) -> Callable[[], Awaitable[AsyncIterable[Any]]]:
            async def open_inner() -> AsyncIterable[Any]:
                inner = function(item)
                if is_async:
                    inner = await inner  # type: ignore[misc]
                if not isinstance(inner, AsyncIterable):
                    raise TypeError(f"switch_map(function) must return a stream or async iterable, got {describe(inner)}")
                return inner

            return open_inner

        async with running(box) as pumps:
            pumps.start(pump, 0, outer)
            current: anyio.CancelScope | None = None
            generation = 0
            outer_done = False
            inner_done = True
            async for which, item in box:
                if which == 0:
                    if item is _END:
                        outer_done = True
                    else:
                        if current is not None:
                            current.cancel()
                        generation += 1
                        inner_done = False
                        current = pumps.start(pump, generation, inner_of(item))
                elif which == generation:
                    if item is _END:
                        inner_done = True
                    else:
                        yield item
                if outer_done and inner_done:
                    break
            pumps.raise_error()

    return generator_step(switched)


_END: Any = object()
