"""One ordered log of what every part of a pipeline did: sources starting and finishing, user
functions running, each layer of a pipeline closing. The reliability tests read the order.

>>> log = Log()
>>> pipeline = log.source("src", [1, 2]) | sk.buffer(2) | log.layer("buffer")   # doctest: +SKIP
>>> ... run and cancel it ...
>>> log.before("src:close", "buffer:close")                                       # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import AsyncIterable, AsyncIterator, Awaitable, Callable, Iterable
from typing import Any, Literal

import anyio

import streamkit as sk
from streamkit._core.closing import opened

Then = Literal["end", "hang", "boom"]


class Boom(Exception):
    """Raised by a source."""


class Oops(Exception):
    """Raised by a user function."""


class SinkBroke(Exception):
    """Raised by a sink's write."""


class Log:
    def __init__(self) -> None:
        self.entries: list[tuple[float, str]] = []
        self.produced = 0
        """Items all sources made by this log have yielded."""

    def add(self, what: str) -> None:
        self.entries.append((anyio.current_time(), what))

    @property
    def names(self) -> list[str]:
        return [what for _, what in self.entries]

    def count(self, what: str) -> int:
        return self.names.count(what)

    def last(self, what: str) -> int:
        """Index of the last entry ``what``; -1 if none."""
        names = self.names
        return len(names) - 1 - names[::-1].index(what) if what in names else -1

    def time_of(self, what: str) -> float:
        return self.entries[self.last(what)][0]

    def before(self, first: str, second: str) -> bool:
        """True when every ``first`` entry precedes the last ``second`` entry (and both exist)."""
        names = self.names
        if first not in names or second not in names:
            return False
        return max(i for i, name in enumerate(names) if name == first) < self.last(second)

    def balanced(self, name: str) -> bool:
        """Every run of source ``name`` that started has finished (its ``finally`` ran)."""
        return self.count(f"{name}:start") == self.count(f"{name}:close")

    def source(
        self,
        name: str,
        items: Iterable[Any] = (1, 2, 3),
        *,
        gap: float = 1.0,
        then: Then = "end",
        first_gap: float | None = None,
    ) -> sk.Stream[Any]:
        """A source that yields ``items`` one ``gap`` apart (the first after ``first_gap``), then
        ends, hangs, or raises :class:`Boom`; every run logs ``name:start`` and ``name:close``."""
        values = list(items)

        async def run() -> AsyncIterator[Any]:
            self.add(f"{name}:start")
            try:
                for n, value in enumerate(values):
                    await anyio.sleep(gap if n or first_gap is None else first_gap)
                    self.produced += 1
                    yield value
                if then == "boom":
                    raise_boom(name)
                if then == "hang":
                    await anyio.sleep_forever()
            finally:
                self.add(f"{name}:close")

        return sk.Stream(run)

    def layer(self, name: str) -> Callable[[AsyncIterable[Any]], sk.Stream[Any]]:
        """A pass-through step that logs ``name:close`` once the layer below it has been closed.

        Put it right after an operator: its ``close`` entry marks the moment that operator's
        cleanup (consumer side) had finished.
        """

        def apply(upstream: AsyncIterable[Any]) -> sk.Stream[Any]:
            async def run() -> AsyncIterator[Any]:
                try:
                    async with opened(upstream) as items:
                        async for item in items:
                            yield item
                finally:
                    self.add(f"{name}:close")

            return sk.Stream(run)

        return apply

    def function(self, name: str, seconds: float, result: Callable[[Any], Any] = lambda x: x) -> Callable[[Any], Awaitable[Any]]:
        """An async user function that takes ``seconds``; logs ``name:call`` and, in its ``finally``, ``name:done``."""

        async def function(item: Any) -> Any:
            self.add(f"{name}:call")
            try:
                await anyio.sleep(seconds)
                return result(item)
            finally:
                self.add(f"{name}:done")

        return function


def raise_boom(where: str) -> None:
    """The frame that raises: tests look for it in the traceback."""
    raise Boom(f"{where} failed")


def raise_oops(item: Any) -> Any:
    raise Oops(f"user function failed on {item!r}")
