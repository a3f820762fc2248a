"""Operators in time: throttle, debounce, sample, batch, timeout, spaceout, delay, heartbeat.

Time is read with ``anyio.current_time()`` and waited for with deadlines, so a virtual clock
drives all of them in tests. Those that must react while the source is idle read the source
in a background task (see ``_pumped``) and never cancel the source's ``__anext__``.
"""

from __future__ import annotations

import math
from collections.abc import AsyncIterable, AsyncIterator, Callable
from typing import Any, TypeVar

import anyio

from streamkit._core.closing import opened
from streamkit._core.fusion import SKIP, Kind, Stage
from streamkit._core.mailbox import Mailbox
from streamkit._core.stream import Step, generator_step, sync_stage
from streamkit._core.validate import check_positive_int, check_seconds
from streamkit._ops._pumped import pumped

T = TypeVar("T")
V = TypeVar("V")

_NOTHING: Any = object()


async def _next(box: Mailbox[Any], deadline: float) -> Any:
    """The next item; ``_NOTHING`` when ``deadline`` passes first; EndOfStream at the end."""
    if not await box.wait(deadline):
        return _NOTHING
    return box.get_nowait()


def throttle(interval: float, *, leading: bool = True, trailing: bool = False) -> Step[T, T]:
    """Emit at most one item per ``interval`` seconds; the others are dropped.

    An item that arrives when no window is open opens one of ``interval`` seconds and, with
    ``leading=True``, is emitted at once. Items arriving inside the window are dropped,
    except that with ``trailing=True`` the latest of them is emitted when the window closes
    (opening the next window). At the end of the source a pending trailing item is emitted
    at once. Dropping is the point of this operator: use ``buffer`` or ``spaceout`` to keep
    every item.

    ``leading=True, trailing=False`` (the default) needs no background task and costs a
    clock read per item.

    >>> sensor | throttle(1.0)                                  # doctest: +SKIP
    >>> sensor | throttle(1.0, leading=False, trailing=True)    # doctest: +SKIP
    """
    check_seconds("throttle(interval)", interval, allow_zero=False)
    if not (leading or trailing):
        raise ValueError("throttle() needs leading=True or trailing=True, else it would drop every item")
    if not trailing:

        def make() -> Callable[[Any], Any]:
            window_end = -math.inf

            def leading_only(item: Any) -> Any:
                nonlocal window_end
                now = anyio.current_time()
                if now < window_end:
                    return SKIP
                window_end = now + interval
                return item

            return leading_only

        return sync_stage(Stage(Kind.GENERIC, make))

    async def throttled(source: AsyncIterable[Any]) -> AsyncIterator[Any]:
        window_end = -math.inf
        pending = _NOTHING
        async with pumped(source) as (box, pumps):
            while True:
                try:
                    item = await _next(box, window_end if pending is not _NOTHING else math.inf)
                except anyio.EndOfStream:
                    break
                if item is _NOTHING:  # the window closed with a trailing item waiting
                    item, pending = pending, _NOTHING
                    window_end = anyio.current_time() + interval
                    yield item
                    continue
                now = anyio.current_time()
                if now >= window_end:
                    window_end = now + interval
                    if leading:
                        yield item
                    else:
                        pending = item
                else:
                    pending = item
            if pending is not _NOTHING:
                yield pending
            pumps.raise_error()

    return generator_step(throttled)


def debounce(period: float) -> Step[T, T]:
    """Emit an item only once ``period`` seconds have passed without a newer one.

    Each new item replaces the waiting one and restarts the wait. At the end of the source
    the waiting item is emitted at once; an error from the source drops it and ends the
    stream with that error.

    >>> keystrokes | debounce(0.3)                              # doctest: +SKIP
    """
    check_seconds("debounce(period)", period, allow_zero=False)

    async def debounced(source: AsyncIterable[Any]) -> AsyncIterator[Any]:
        pending = _NOTHING
        due = math.inf
        async with pumped(source) as (box, pumps):
            while True:
                try:
                    item = await _next(box, due)
                except anyio.EndOfStream:
                    break
                if item is _NOTHING:
                    item, pending, due = pending, _NOTHING, math.inf
                    yield item
                else:
                    pending, due = item, anyio.current_time() + period
            if pending is not _NOTHING:
                yield pending
            pumps.raise_error()

    return generator_step(debounced)


def sample(period: float) -> Step[T, T]:
    """Every ``period`` seconds, emit the latest item that arrived since the last tick, if any.

    Ticks are counted from the start of the run. An item still unsampled when the source
    ends is emitted before the end.

    >>> mouse_moves | sample(0.1)                               # doctest: +SKIP
    """
    check_seconds("sample(period)", period, allow_zero=False)

    async def sampled(source: AsyncIterable[Any]) -> AsyncIterator[Any]:
        latest = _NOTHING
        tick = anyio.current_time() + period
        async with pumped(source) as (box, pumps):
            while True:
                try:
                    item = await _next(box, tick)
                except anyio.EndOfStream:
                    break
                if item is not _NOTHING:
                    latest = item
                    continue
                now = anyio.current_time()
                tick += period * max(1, math.floor((now - tick) / period) + 1)
                if latest is not _NOTHING:
                    item, latest = latest, _NOTHING
                    yield item
            if latest is not _NOTHING:
                yield latest
            pumps.raise_error()

    return generator_step(sampled)


def batch(size: int | None = None, *, max_wait: float | None = None) -> Step[T, list[T]]:
    """Group items into lists of up to ``size`` items, emitted when full or ``max_wait`` seconds
    after the first item of the batch arrived, whichever comes first.

    At least one of ``size`` and ``max_wait`` is required. Empty batches are never emitted;
    the last, partial batch is emitted when the source ends. On an error from the source the
    partial batch is emitted first, then the error raised, so no item is lost.

    >>> events | batch(100, max_wait=0.5)                       # doctest: +SKIP
    """
    if size is None and max_wait is None:
        raise ValueError("batch() needs size=, max_wait= or both")
    if size is not None:
        check_positive_int("batch(size)", size)
    limit = size if size is not None else math.inf
    if max_wait is None:

        async def by_size(source: AsyncIterable[Any]) -> AsyncIterator[list[Any]]:
            group: list[Any] = []
            error: Exception | None = None
            async with opened(source) as items:
                try:
                    async for item in items:
                        group.append(item)
                        if len(group) >= limit:
                            yield group
                            group = []
                except Exception as exc:  # emitted after the partial batch: nothing is lost
                    error = exc
            if group:
                yield group
            if error is not None:
                raise error

        return generator_step(by_size)

    wait = check_seconds("batch(max_wait)", max_wait, allow_zero=False)

    async def by_time(source: AsyncIterable[Any]) -> AsyncIterator[list[Any]]:
        group: list[Any] = []
        due = math.inf
        error: BaseException | None = None
        async with pumped(source) as (box, pumps):
            while True:
                try:
                    item = await _next(box, due)
                except anyio.EndOfStream:
                    break
                except Exception as exc:
                    error = exc
                    break
                if item is _NOTHING or len(group) + 1 >= limit:
                    if item is not _NOTHING:
                        group.append(item)
                    full, group, due = group, [], math.inf
                    yield full
                    continue
                if not group:
                    due = anyio.current_time() + wait
                group.append(item)
            if group:
                yield group
            if error is not None:
                raise error
            pumps.raise_error()

    return generator_step(by_time)


def timeout(seconds: float | None = None, *, total: float | None = None) -> Step[T, T]:
    """Raise ``TimeoutError`` when no item arrives for ``seconds`` (counted from the start and
    from each item), or when the whole run takes longer than ``total`` seconds.

    The source is closed before the error reaches the consumer.

    >>> llm_tokens | timeout(30, total=300)                     # doctest: +SKIP
    """
    if seconds is None and total is None:
        raise ValueError("timeout() needs seconds= (the gap between items), total= or both")
    gap = math.inf if seconds is None else check_seconds("timeout(seconds)", seconds, allow_zero=False)
    whole = math.inf if total is None else check_seconds("timeout(total)", total, allow_zero=False)

    async def timed(source: AsyncIterable[Any]) -> AsyncIterator[Any]:
        item: Any = None
        start = anyio.current_time()
        end = start + whole
        due = min(start + gap, end)
        async with pumped(source) as (box, pumps):
            while True:
                try:
                    item = await _next(box, due)
                except anyio.EndOfStream:
                    break
                if item is _NOTHING:
                    # Leaving the block first closes the source, then the consumer hears why.
                    break
                yield item
                due = min(anyio.current_time() + gap, end)
            pumps.raise_error()
        if item is _NOTHING:
            what = f"no item for {seconds} s" if due < end else f"the run took longer than {total} s"
            raise TimeoutError(f"timeout(): {what}")

    return generator_step(timed)


def spaceout(interval: float) -> Step[T, T]:
    """Keep at least ``interval`` seconds between emitted items, delaying (never dropping) them.

    The source is not read ahead, so a fast source is slowed down to the interval.

    >>> iterate(messages) | spaceout(0.5)                       # doctest: +SKIP
    """
    check_seconds("spaceout(interval)", interval)

    async def spaced(source: AsyncIterable[Any]) -> AsyncIterator[Any]:
        allowed = -math.inf
        async with opened(source) as items:
            async for item in items:
                if anyio.current_time() < allowed:
                    await anyio.sleep_until(allowed)
                yield item
                allowed = anyio.current_time() + interval

    return generator_step(spaced)


def delay(seconds: float, *, max_buffer: int = 1024) -> Step[T, T]:
    """Shift every item ``seconds`` later in time, keeping the gaps between items.

    Items wait in a buffer of at most ``max_buffer``; a source that outruns it is slowed down
    (backpressure), never dropped. The end and errors of the source are delayed likewise.

    >>> clicks | delay(2.0)                                     # doctest: +SKIP
    """
    shift = check_seconds("delay(seconds)", seconds)
    check_positive_int("delay(max_buffer)", max_buffer)

    async def delayed(source: AsyncIterable[Any]) -> AsyncIterator[Any]:
        stamped = _stamped(source, shift)
        async with pumped(stamped, max_buffer) as (box, pumps):
            late: _Delayed | None = None
            try:
                async for due, item in box:
                    if anyio.current_time() < due:
                        await anyio.sleep_until(due)
                    if item is _NOTHING:  # the source's end, shifted like its items
                        return
                    yield item
            except _Delayed as error:
                late = error
            if late is not None:
                # Waited for outside the handler, so a cancellation meanwhile does not carry _Delayed.
                if anyio.current_time() < late.due:
                    await anyio.sleep_until(late.due)
                raise late.error from None
            pumps.raise_error()

    return generator_step(delayed)


class _Delayed(Exception):
    def __init__(self, due: float, error: BaseException) -> None:
        self.due = due
        self.error = error


async def _stamped(source: AsyncIterable[Any], shift: float) -> AsyncIterator[tuple[float, Any]]:
    async with opened(source) as items:
        try:
            async for item in items:
                yield anyio.current_time() + shift, item
            yield anyio.current_time() + shift, _NOTHING
        except Exception as error:
            raise _Delayed(anyio.current_time() + shift, error) from error


def heartbeat(period: float, value: V) -> Step[T, T | V]:
    """Insert ``value`` whenever ``period`` seconds pass without an item.

    Real items are never delayed or reordered. The period counts from the start of the run
    and from the last item or heartbeat emitted.

    >>> tokens | heartbeat(15.0, ServerSentEvent(comment="ping"))   # doctest: +SKIP
    """
    check_seconds("heartbeat(period)", period, allow_zero=False)

    async def beating(source: AsyncIterable[Any]) -> AsyncIterator[Any]:
        async with pumped(source) as (box, pumps):
            due = anyio.current_time() + period
            while True:
                try:
                    item = await _next(box, due)
                except anyio.EndOfStream:
                    break
                yield value if item is _NOTHING else item
                due = anyio.current_time() + period
            pumps.raise_error()

    return generator_step(beating)

