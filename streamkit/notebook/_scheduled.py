"""``scheduled([(time, value), ...])``: a source that emits given values at given times.

The input of a marble diagram: bursts, pauses and a slow tail are what make throttle, debounce
and batch differ, and a regular ``interval`` has none of them.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable
from typing import Any, TypeVar

import anyio

from streamkit._core.closing import describe
from streamkit._core.stream import Stream
from streamkit._core.validate import check_seconds

T = TypeVar("T")


def scheduled(events: Iterable[tuple[float, T]], *, end: float | None = None) -> Stream[T]:
    """Emit each ``value`` at ``time`` seconds after the start of the run, then end.

    Times must not decrease. The stream ends right after the last value, or at ``end``
    seconds if given (to show a stream that stays open a while).

    >>> clicks = scheduled([(0.5, "a"), (0.7, "b"), (3.0, "c")], end=4.0)
    >>> run_virtual(record, clicks)                                # doctest: +SKIP
    [(0.5, 'a'), (0.7, 'b'), (3.0, 'c')]
    """
    schedule: list[tuple[float, T]] = []
    for n, pair in enumerate(events):
        if not isinstance(pair, tuple) or len(pair) != 2:
            raise TypeError(f"scheduled(events): event {n} must be a (seconds, value) pair, got {describe(pair)}")
        at = check_seconds(f"scheduled(events): the time of event {n}", pair[0])
        if schedule and at < schedule[-1][0]:
            raise ValueError(f"scheduled(events): event {n} at {at} s comes before event {n - 1} at {schedule[-1][0]} s")
        schedule.append((at, pair[1]))
    last = schedule[-1][0] if schedule else 0.0
    finish = None if end is None else check_seconds("scheduled(end)", end)
    if finish is not None and finish < last:
        raise ValueError(f"scheduled(end={end}) is before the last event, at {last} s")

    async def run() -> AsyncIterator[Any]:
        start = anyio.current_time()
        for at, value in schedule:
            await anyio.sleep_until(start + at)
            yield value
        if finish is not None:
            await anyio.sleep_until(start + finish)

    return Stream(run)
