"""Operators that transform items one by one: map, filter, scan, flat_map, tap, ...

Synchronous functions become fused stages (one generator for a whole chain of them); async
functions get a generator stage of their own. Unless said otherwise, every operator here ends
when its source ends, passes on the source's errors unchanged, raises what the user function
raises (closing the source first), and closes the source when the consumer stops early or
the run is cancelled.
"""

from __future__ import annotations

import builtins
import itertools
from collections.abc import AsyncIterable, AsyncIterator, Awaitable, Callable, Iterable
from typing import Any, TypeVar, overload

import anyio

from streamkit._core.closing import describe, opened
from streamkit._core.fusion import SKIP, Kind, Stage
from streamkit._core.mailbox import ConsumerGone, Mailbox
from streamkit._core.stream import Step, generator_step, sync_stage
from streamkit._core.validate import check_callable, check_positive_int
from streamkit._ops._pumped import running
from streamkit._ops._util import is_async_callable

T = TypeVar("T")
U = TypeVar("U")
A = TypeVar("A")


@overload
def map(function: Callable[[T], Awaitable[U]], *, concurrency: int = 1, ordered: bool = True) -> Step[T, U]: ...
@overload
def map(function: Callable[[T], U]) -> Step[T, U]: ...
def map(function: Callable[[Any], Any], *, concurrency: int = 1, ordered: bool = True) -> Step[Any, Any]:
    """Apply ``function`` to every item.

    ``function`` may be sync or ``async``. An async function can run on up to
    ``concurrency`` items at once; with ``ordered=True`` (the default) results keep the
    source's order, otherwise they come as they finish. At most ``concurrency`` items are in
    flight or waiting to be emitted, so memory stays bounded. An error in any call cancels
    the calls still running and ends the stream with that error.

    >>> await (iterate([1, 2]) | map(lambda x: x * 10)).list()        # doctest: +SKIP
    [10, 20]
    >>> await (iterate(urls) | map(fetch, concurrency=8)).list()       # doctest: +SKIP
    """
    check_callable("map(function)", function)
    check_positive_int("concurrency", concurrency)
    if not is_async_callable(function):
        if concurrency != 1:
            raise ValueError("concurrency applies to async functions; this function is sync")
        return sync_stage(Stage(Kind.MAP, lambda: function))
    if concurrency == 1:

        async def amap(source: AsyncIterable[Any]) -> AsyncIterator[Any]:
            async with opened(source) as items:
                async for item in items:
                    yield await function(item)

        return generator_step(amap)
    return generator_step(lambda source: _concurrent_map(source, function, concurrency, ordered))


async def _concurrent_map(
    source: AsyncIterable[Any], function: Callable[[Any], Awaitable[Any]], concurrency: int, ordered: bool
) -> AsyncIterator[Any]:
    # The feeder numbers items and takes a slot for each; a slot is freed when its result is
    # emitted, so at most `concurrency` items are in flight or waiting to be reordered.
    inbox: Mailbox[tuple[int, Any]] = Mailbox(1)
    results: Mailbox[tuple[int, Any]] = Mailbox(concurrency, producers=concurrency)
    slots = anyio.Semaphore(concurrency)

    async def feed() -> None:
        try:
            async with opened(source) as items:
                n = 0
                async for item in items:
                    await slots.acquire()
                    await inbox.put((n, item))
                    n += 1
        except ConsumerGone:
            pass
        finally:
            inbox.producer_done()

    async def work() -> None:
        try:
            while True:
                try:
                    n, item = await inbox.get()
                except anyio.EndOfStream:
                    return
                await results.put((n, await function(item)))
        except ConsumerGone:
            pass
        finally:
            results.producer_done()

    waiting: dict[int, Any] = {}
    next_n = 0
    async with running(results, inbox) as pumps:
        pumps.start(feed)
        for _ in builtins.range(concurrency):
            pumps.start(work)
        async for n, result in results:
            if not ordered:
                slots.release()
                yield result
                continue
            waiting[n] = result
            while next_n in waiting:
                result = waiting.pop(next_n)
                next_n += 1
                slots.release()
                yield result
        pumps.raise_error()


@overload
def filter(predicate: Callable[[T], Awaitable[object]]) -> Step[T, T]: ...
@overload
def filter(predicate: Callable[[T], object]) -> Step[T, T]: ...
@overload
def filter(predicate: Callable[[Any], object]) -> Step[T, T]: ...  # a lambda keeps the stream's item type
def filter(predicate: Callable[[Any], Any]) -> Step[Any, Any]:
    """Keep the items for which ``predicate`` (sync or async) is true.

    >>> await (iterate(range(5)) | filter(lambda x: x % 2)).list()     # doctest: +SKIP
    [1, 3]
    """
    check_callable("filter(predicate)", predicate)
    if not is_async_callable(predicate):
        return sync_stage(Stage(Kind.FILTER, lambda: predicate))

    async def afilter(source: AsyncIterable[Any]) -> AsyncIterator[Any]:
        async with opened(source) as items:
            async for item in items:
                if await predicate(item):
                    yield item

    return generator_step(afilter)


@overload
def tap(function: Callable[[T], Awaitable[object]]) -> Step[T, T]: ...
@overload
def tap(function: Callable[[T], object]) -> Step[T, T]: ...
@overload
def tap(function: Callable[[Any], object]) -> Step[T, T]: ...  # a lambda keeps the stream's item type
def tap(function: Callable[[Any], Any]) -> Step[Any, Any]:
    """Call ``function`` (sync or async) on every item for its side effect; pass the item on unchanged.

    >>> stream | tap(print)                                            # doctest: +SKIP
    """
    check_callable("tap(function)", function)
    if not is_async_callable(function):

        def make() -> Callable[[Any], Any]:
            def tapped(item: Any) -> Any:
                function(item)
                return item

            return tapped

        return sync_stage(Stage(Kind.MAP, make))

    async def atap(source: AsyncIterable[Any]) -> AsyncIterator[Any]:
        async with opened(source) as items:
            async for item in items:
                await function(item)
                yield item

    return generator_step(atap)


def scan(function: Callable[[A, T], A], initial: A) -> Step[T, A]:
    """Emit the running fold ``acc = function(acc, item)`` after every item, starting from ``initial``.

    The accumulator starts afresh in every run.

    >>> await (iterate([1, 2, 3]) | scan(operator.add, 0)).list()      # doctest: +SKIP
    [1, 3, 6]
    """
    check_callable("scan(function)", function)
    if is_async_callable(function):

        async def ascan(source: AsyncIterable[Any]) -> AsyncIterator[Any]:
            accumulated: Any = initial
            async with opened(source) as items:
                async for item in items:
                    accumulated = await function(accumulated, item)  # type: ignore[misc]
                    yield accumulated

        return generator_step(ascan)

    def make() -> Callable[[Any], Any]:
        accumulated: Any = initial

        def fold(item: Any) -> Any:
            nonlocal accumulated
            accumulated = function(accumulated, item)
            return accumulated

        return fold

    return sync_stage(Stage(Kind.MAP, make))


def flat_map(function: Callable[[T], Iterable[U] | AsyncIterable[U] | Awaitable[Iterable[U]]]) -> Step[T, U]:
    """Replace every item by the items of ``function(item)``: an iterable, an async iterable or
    a stream, read to its end before the next item is taken (concatenation, in order).

    >>> await (iterate([1, 2]) | flat_map(lambda x: [x, x])).list()    # doctest: +SKIP
    [1, 1, 2, 2]
    """
    check_callable("flat_map(function)", function)
    is_async = is_async_callable(function)

    async def flatten(source: AsyncIterable[Any]) -> AsyncIterator[Any]:
        async with opened(source) as items:
            async for item in items:
                inner = function(item)
                if is_async:
                    inner = await inner  # type: ignore[misc]
                if isinstance(inner, AsyncIterable):
                    async with opened(inner) as inner_items:
                        async for inner_item in inner_items:
                            yield inner_item
                elif isinstance(inner, Iterable):
                    for inner_item in inner:
                        yield inner_item
                else:
                    raise TypeError(f"flat_map(function) must return an iterable or async iterable, got {describe(inner)}")

    return generator_step(flatten)


def start_with(*items: U) -> Step[T, T | U]:
    """Emit ``items`` first, then the source's items (the items may be of another type, e.g. a header).

    >>> await (iterate([3]) | start_with(1, 2)).list()                 # doctest: +SKIP
    [1, 2, 3]
    """

    async def prepend(source: AsyncIterable[Any]) -> AsyncIterator[Any]:
        for item in items:
            yield item
        async with opened(source) as upstream:
            async for item in upstream:
                yield item

    return generator_step(prepend)


_NOTHING: Any = object()


def distinct(key: Callable[[T], object] | None = None) -> Step[T, T]:
    """Drop an item equal to the one just before it (by ``key(item)`` if given).

    Only consecutive duplicates are dropped, so memory stays constant.

    >>> await (iterate([1, 1, 2, 1]) | distinct()).list()              # doctest: +SKIP
    [1, 2, 1]
    """
    if key is not None:
        check_callable("distinct(key)", key)

    def make() -> Callable[[Any], Any]:
        previous: Any = _NOTHING

        def changed(item: Any) -> Any:
            nonlocal previous
            current = item if key is None else key(item)
            if previous is not _NOTHING and current == previous:
                return SKIP
            previous = current
            return item

        return changed

    return sync_stage(Stage(Kind.GENERIC, make))


def enumerate(start: int = 0) -> Step[T, tuple[int, T]]:
    """Pair every item with its index: ``(start, item)``, ``(start + 1, item)``, ... per run.

    >>> await (iterate("ab") | enumerate()).list()                     # doctest: +SKIP
    [(0, 'a'), (1, 'b')]
    """
    if isinstance(start, bool) or not isinstance(start, int):
        raise TypeError(f"start must be an int, got {describe(start)}")

    def make() -> Callable[[Any], Any]:
        counter = itertools.count(start)
        return lambda item: (next(counter), item)

    return sync_stage(Stage(Kind.MAP, make))

