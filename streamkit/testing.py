"""Helpers for testing code built on streamkit: virtual time, closed-source checks, recordings.

Virtual time makes time-based pipelines testable exactly and instantly: the clock jumps to the
next deadline whenever every task is waiting. On trio this is ``trio.testing.MockClock(
autojump_threshold=0)``; on asyncio, :class:`VirtualTimeLoop`. With anyio's pytest plugin::

    # conftest.py: every async test runs on asyncio and on trio, each on a virtual clock
    from streamkit.testing import anyio_backend  # noqa: F401

    # test_pipeline.py
    async def test_throttle():
        times = await record(interval(60) | throttle(600) | take(2))
        assert times == [(60.0, 0), (660.0, 10)]

Virtual time is for pipelines whose waiting is all in time. Threads, files and sockets need
the real clock: the virtual one would jump ahead while they work.
"""

from __future__ import annotations

import asyncio
import selectors
from collections.abc import AsyncIterable, AsyncIterator, Callable, Iterable
from typing import Any, TypeVar

import anyio

from streamkit._core.closing import opened
from streamkit._core.stream import Stream, as_stream
from streamkit._sources.iterables import iterate

T = TypeVar("T")

__all__ = ["VirtualTimeLoop", "virtual_backends", "record", "SourceTracker", "anyio_backend"]


class _AutojumpSelector:
    """Wraps the loop's selector: instead of sleeping until the next timer, jump the clock."""

    def __init__(self, selector: selectors.BaseSelector, loop: VirtualTimeLoop) -> None:
        self._selector = selector
        self._loop = loop

    def select(self, timeout: float | None = None) -> list[tuple[selectors.SelectorKey, int]]:
        events = self._selector.select(0)
        if events or timeout == 0:
            return events
        if timeout is None:
            # Nothing is scheduled: only I/O (a thread finishing, a socket) can wake the loop.
            return self._selector.select(None)
        self._loop.advance(timeout)
        return []

    def __getattr__(self, name: str) -> Any:
        return getattr(self._selector, name)


class VirtualTimeLoop(asyncio.SelectorEventLoop):
    """An asyncio event loop on a virtual clock that jumps to the next timer when all tasks wait.

    ``loop.time()`` (and so ``anyio.current_time()``) starts at 0.0. Pass the class as anyio's
    ``loop_factory``: ``anyio.run(main, backend_options={"loop_factory": VirtualTimeLoop})``.

    >>> anyio.run(main, backend_options={"loop_factory": VirtualTimeLoop})   # doctest: +SKIP
    """

    def __init__(self) -> None:
        self._virtual_now = 0.0
        selector = selectors.DefaultSelector()
        super().__init__(selector=_AutojumpSelector(selector, self))  # type: ignore[arg-type]

    def time(self) -> float:
        return self._virtual_now

    def advance(self, seconds: float) -> None:
        """Move the virtual clock forward by ``seconds``."""
        self._virtual_now += seconds


def __getattr__(name: str) -> Any:
    # ``anyio_backend`` is a pytest fixture, built on first import so that importing this
    # module does not need pytest.
    if name == "anyio_backend":
        fixture = _virtual_anyio_backend_fixture()
        globals()[name] = fixture
        return fixture
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _virtual_anyio_backend_fixture() -> Any:
    """The pytest fixture ``anyio_backend``: asyncio and trio, each on a fresh virtual clock.

    >>> # conftest.py
    >>> from streamkit.testing import anyio_backend   # doctest: +SKIP
    """
    import pytest

    @pytest.fixture(name="anyio_backend", params=virtual_backends(), ids=lambda factory: factory()[0])
    def virtual_anyio_backend(request: Any) -> tuple[str, dict[str, Any]]:
        factory: Callable[[], tuple[str, dict[str, Any]]] = request.param
        return factory()

    return virtual_anyio_backend


def virtual_backends() -> list[Callable[[], tuple[str, dict[str, Any]]]]:
    """Factories of anyio backend specs running on a virtual clock: asyncio, and trio if installed.

    Each call of a factory makes a fresh clock, so every test starts at time 0.

    >>> @pytest.fixture(params=virtual_backends(), ids=lambda make: make()[0])   # doctest: +SKIP
    ... def anyio_backend(request):
    ...     return request.param()
    """

    def asyncio_backend() -> tuple[str, dict[str, Any]]:
        return "asyncio", {"loop_factory": VirtualTimeLoop}

    def trio_backend() -> tuple[str, dict[str, Any]]:
        from trio.testing import MockClock

        return "trio", {"clock": MockClock(autojump_threshold=0)}

    backends = [asyncio_backend]
    try:
        import trio  # noqa: F401
    except ImportError:  # pragma: no cover - trio is optional
        return backends
    return [asyncio_backend, trio_backend]


async def record(stream: AsyncIterable[T]) -> list[tuple[float, T]]:
    """Run ``stream`` to its end; return ``(seconds since start, item)`` for every item.

    >>> await record(interval(1.0) | take(2))          # doctest: +SKIP
    [(1.0, 0), (2.0, 1)]
    """
    start = anyio.current_time()
    timeline: list[tuple[float, T]] = []
    async with opened(stream) as items:
        async for item in items:
            timeline.append((anyio.current_time() - start, item))
    return timeline


class SourceTracker:
    """Wraps sources to check that every run of them was closed.

    >>> tracker = SourceTracker()                      # doctest: +SKIP
    >>> source = tracker.track([1, 2, 3])
    >>> await (source | take(1)).list()
    >>> tracker.assert_all_closed()
    """

    def __init__(self) -> None:
        self.started = 0
        """Runs started."""
        self.closed = 0
        """Runs whose cleanup (``finally``) has run."""
        self.events: list[str] = []
        """``"start"``, each ``"item"`` and ``"close"``, in order, for every run."""

    def track(self, source: Iterable[T] | AsyncIterable[T]) -> Stream[T]:
        """A stream of ``source`` whose runs are counted."""
        inner = as_stream(source) if isinstance(source, AsyncIterable) else iterate(source)

        async def run() -> AsyncIterator[T]:
            self.started += 1
            self.events.append("start")
            try:
                async with opened(inner) as items:
                    async for item in items:
                        self.events.append("item")
                        yield item
            finally:
                self.closed += 1
                self.events.append("close")

        return Stream(run)

    @property
    def open_runs(self) -> int:
        """Runs started and not yet closed."""
        return self.started - self.closed

    def assert_all_closed(self) -> None:
        """Raise ``AssertionError`` unless every run started has been closed."""
        if self.open_runs:
            raise AssertionError(f"{self.open_runs} of {self.started} run(s) of the tracked source were not closed")
