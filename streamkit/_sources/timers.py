"""Sources and helpers in time: :func:`interval`, :func:`timer`, :func:`wait`.

All time goes through ``anyio.current_time()`` and ``anyio.sleep()``, so a virtual clock drives
them in tests (DESIGN.md, contract 6).
"""

from __future__ import annotations

import math
from collections.abc import AsyncIterator
from typing import Any, TypeVar, overload

import anyio

from streamkit._core.stream import Stream
from streamkit._core.validate import check_seconds

T = TypeVar("T")


def interval(period: float, *, immediate: bool = False) -> Stream[int]:
    """Emit 0, 1, 2, ... every ``period`` seconds, counted from the start of each run.

    The first tick comes after one period, or at once with ``immediate=True``. Ticks keep to
    the schedule without drift; a consumer slower than the period makes ticks be skipped
    rather than delivered in a burst.

    >>> await (interval(1.0) | take(3)).list()  # doctest: +SKIP
    [0, 1, 2]
    """
    check_seconds("period", period, allow_zero=False)

    async def run() -> AsyncIterator[int]:
        start = anyio.current_time()
        slot = 0 if immediate else 1
        count = 0
        while True:
            await anyio.sleep_until(start + slot * period)
            yield count
            count += 1
            # Skip the slots that passed while the consumer was busy.
            slot = max(slot + 1, math.ceil((anyio.current_time() - start) / period))

    return Stream(run)


@overload
def timer(delay: float) -> Stream[None]: ...
@overload
def timer(delay: float, value: T) -> Stream[T]: ...
def timer(delay: float, value: Any = None) -> Stream[Any]:
    """Emit ``value`` once, ``delay`` seconds after the run starts, then end.

    >>> await timer(2.0, "ring").list()         # doctest: +SKIP
    ['ring']
    """
    check_seconds("delay", delay)

    async def run() -> AsyncIterator[Any]:
        await anyio.sleep(delay)
        yield value

    return Stream(run)


async def wait(seconds: float) -> None:
    """Sleep ``seconds`` (a virtual clock in tests makes this instant).

    >>> await wait(0.5)                         # doctest: +SKIP
    """
    await anyio.sleep(check_seconds("seconds", seconds, allow_inf=True))
