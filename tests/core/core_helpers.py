"""Shared pieces of the core tests: tracked sources in virtual time and the errors they raise."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable
from typing import Any, Literal

import anyio

import streamkit as sk
from streamkit.testing import SourceTracker


class Boom(Exception):
    """Raised by a source."""


class Oops(Exception):
    """Raised by a user function (a map function, a predicate, a trigger, ...)."""


Then = Literal["end", "hang", "boom"]


class Kit:
    """Makes tracked sources and checks that every run of every one of them was closed.

    ``kit.source([1, 2, 3])`` emits 1, 2, 3 at t = 1, 2, 3 (one ``gap`` apart, counted from the
    start of the run) and then ends, hangs forever, or raises :class:`Boom`.
    """

    def __init__(self) -> None:
        self.trackers: list[SourceTracker] = []

    def source(self, items: Iterable[Any] = (1, 2, 3), *, gap: float = 1.0, then: Then = "end") -> sk.Stream[Any]:
        values = list(items)

        async def run() -> AsyncIterator[Any]:
            for value in values:
                await anyio.sleep(gap)
                yield value
            if then == "boom":
                raise Boom("source failed")
            if then == "hang":
                await anyio.sleep_forever()

        tracker = SourceTracker()
        self.trackers.append(tracker)
        return tracker.track(sk.Stream(run))

    @property
    def runs_started(self) -> int:
        return sum(tracker.started for tracker in self.trackers)

    def assert_closed(self) -> None:
        """Every run of every source made by this kit has run its ``finally``."""
        for n, tracker in enumerate(self.trackers):
            assert tracker.open_runs == 0, f"source #{n}: {tracker.open_runs} run(s) still open ({tracker.events})"


def fails_on(bad: Any, result: Any = None) -> Any:
    """A sync function that raises :class:`Oops` on ``bad`` and otherwise returns ``result(item)``."""

    def function(*args: Any) -> Any:
        item = args[-1]
        if item == bad:
            raise Oops(f"user function failed on {item!r}")
        return item if result is None else result(*args)

    return function


def async_fails_on(bad: Any, result: Any = None) -> Any:
    """The async twin of :func:`fails_on`."""
    sync = fails_on(bad, result)

    async def function(*args: Any) -> Any:
        await anyio.lowlevel.checkpoint()
        return sync(*args)

    return function
