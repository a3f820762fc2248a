"""Operators that choose which items pass: take, take_while, take_until, skip, skip_while.

Ending early closes the source at once: ``take(3)`` on an LLM stream reads three items and
closes the SDK stream, without reading a fourth.
"""

from __future__ import annotations

from collections.abc import AsyncIterable, AsyncIterator, Awaitable, Callable
from typing import Any, TypeVar

import anyio

from streamkit._core.closing import describe, opened
from streamkit._core.fusion import SKIP, Kind, Stage, StopRun
from streamkit._core.mailbox import Mailbox, forward
from streamkit._core.stream import Step, Stream, generator_step, sync_stage
from streamkit._ops._pumped import running
from streamkit._core.validate import check_callable, check_seconds, check_whole

T = TypeVar("T")


def take(count: int) -> Step[T, T]:
    """Emit the first ``count`` items, then end and close the source (without reading more).

    >>> await (interval(1) | take(3)).list()                           # doctest: +SKIP
    [0, 1, 2]
    """
    check_whole("take(count)", count)
    if count == 0:
        return lambda source: Stream(_nothing)

    def make() -> Callable[[Any], Any]:
        left = count

        def taking(item: Any) -> Any:
            nonlocal left
            left -= 1
            if left == 0:
                raise StopRun(item)
            return item

        return taking

    return sync_stage(Stage(Kind.GENERIC, make))


async def _nothing() -> AsyncIterator[Any]:
    return
    yield  # pragma: no cover - makes this an async generator


def take_while(predicate: Callable[[T], object], *, inclusive: bool = False) -> Step[T, T]:
    """Emit items while ``predicate(item)`` is true; end at the first item for which it is false.

    With ``inclusive=True`` that first failing item is emitted too (handy for "until the
    finish event, included").

    >>> await (iterate([1, 2, 5, 1]) | take_while(lambda x: x < 3)).list()   # doctest: +SKIP
    [1, 2]
    """
    check_callable("take_while(predicate)", predicate)
    if not isinstance(inclusive, bool):
        raise TypeError(f"inclusive must be a bool, got {describe(inclusive)}")

    def make() -> Callable[[Any], Any]:
        def taking(item: Any) -> Any:
            if predicate(item):
                return item
            raise StopRun(item if inclusive else SKIP)

        return taking

    return sync_stage(Stage(Kind.GENERIC, make))


def skip(count: int) -> Step[T, T]:
    """Drop the first ``count`` items of every run.

    >>> await (iterate(range(5)) | skip(3)).list()                     # doctest: +SKIP
    [3, 4]
    """
    check_whole("skip(count)", count)

    def make() -> Callable[[Any], Any]:
        left = count

        def skipping(item: Any) -> Any:
            nonlocal left
            if left:
                left -= 1
                return SKIP
            return item

        return skipping

    return sync_stage(Stage(Kind.GENERIC, make))


def skip_while(predicate: Callable[[T], object]) -> Step[T, T]:
    """Drop items while ``predicate(item)`` is true; from the first false one on, emit everything.

    >>> await (iterate([1, 5, 1]) | skip_while(lambda x: x < 3)).list()      # doctest: +SKIP
    [5, 1]
    """
    check_callable("skip_while(predicate)", predicate)

    def make() -> Callable[[Any], Any]:
        skipping = True

        def check(item: Any) -> Any:
            nonlocal skipping
            if skipping and predicate(item):
                return SKIP
            skipping = False
            return item

        return check

    return sync_stage(Stage(Kind.GENERIC, make))


Trigger = anyio.Event | AsyncIterable[Any] | Callable[[], Awaitable[Any]] | float


def take_until(trigger: Trigger) -> Step[T, T]:
    """Emit items until ``trigger`` fires, then end and close the source.

    ``trigger`` is one of:

    - an ``anyio.Event``: fires when set;
    - a stream or async iterable: fires at its first item (its end without an item fires
      nothing; its error ends this stream with that error);
    - a function returning an awaitable, called at the start of each run: fires when the
      awaitable completes;
    - a number of seconds: a deadline counted from the start of each run.

    The source is read by a background task, so the trigger stops a run even while the
    source is idle, waiting for its next item.

    >>> stream | take_until(disconnected)                              # doctest: +SKIP
    >>> stream | take_until(30.0)                                      # doctest: +SKIP
    """
    wait_for = _trigger_waiter(trigger)

    async def until(source: AsyncIterable[Any]) -> AsyncIterator[Any]:
        if isinstance(trigger, anyio.Event) and trigger.is_set():
            return
        box: Mailbox[Any] = Mailbox()
        async with running(box) as pumps:

            async def watch() -> None:
                await wait_for()
                # Cancelling the forwarder closes the source, then ends the box: the consumer
                # sees the end only after the upstream cleanup ran.
                pumps.cancel()

            pumps.start(forward, source, box)
            pumps.start(watch)
            async for item in box:
                yield item
            pumps.raise_error()

    return generator_step(until)


def _trigger_waiter(trigger: Trigger) -> Callable[[], Awaitable[Any]]:
    if isinstance(trigger, anyio.Event):
        return trigger.wait
    if isinstance(trigger, bool):
        raise TypeError("take_until(trigger) does not take a bool")
    if isinstance(trigger, int | float):
        delay = check_seconds("take_until(deadline)", trigger, allow_inf=True)
        return lambda: anyio.sleep(delay)
    if isinstance(trigger, AsyncIterable):
        notifier = trigger

        async def first_item() -> None:
            async with opened(notifier) as items:
                async for _ in items:
                    return
            await anyio.sleep_forever()  # ended without an item: never fires

        return first_item
    if callable(trigger):
        return trigger
    raise TypeError(
        f"take_until(trigger) takes an anyio.Event, a stream, a function returning an awaitable "
        f"or a number of seconds, got {describe(trigger)}"
    )
