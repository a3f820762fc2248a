"""Live responses of one event loop, and the one timer that keeps their idle connections alive.

An SSE endpoint spends most of its life idle, so what a connection costs while idle matters
more than what an event costs. A sleeping task per connection for heartbeats would cost a task,
a timer and a wake-up per connection and period; instead every response of a loop registers a
:class:`Line` here, and one *wheel* task per loop sleeps until the earliest heartbeat is due,
then pokes just the lines that have been silent for their period. Writing a frame only stores
a timestamp on the line: the wheel re-checks it lazily when the line's entry comes up.

The same registry lets :func:`request_shutdown` reach every live response.
"""

from __future__ import annotations

import heapq
import itertools
import math
import threading
from typing import Any

import anyio

from streamkit._core.mailbox import Mailbox
from streamkit._core.tasks import Pumps, _running_trio


class Line:
    """One live response: its mailbox (to wake its writer), heartbeat period and last write time."""

    __slots__ = ("box", "period", "last_write", "stopping", "closed", "_loop")

    def __init__(self, box: Mailbox[Any], period: float | None, loop: _Loop) -> None:
        self.box = box
        self.period = period
        self.last_write = anyio.current_time()
        self.stopping = False
        self.closed = False
        self._loop = loop

    def heartbeat_due(self, now: float) -> bool:
        return self.period is not None and now - self.last_write >= self.period

    def wrote(self) -> None:
        self.last_write = anyio.current_time()

    def stop(self) -> None:
        """Ask the writer to finish: shutdown."""
        self.stopping = True
        self.box.poke()

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            self._loop.remove(self)


class _Loop:
    """The lines of one event loop and its heartbeat wheel."""

    def __init__(self, key: object) -> None:
        self.key = key
        self.lines: set[Line] = set()
        self.beating = 0
        self._heap: list[tuple[float, int, Line]] = []
        self._order = itertools.count()
        self._wheel: Pumps | None = None
        self._wake: anyio.Event | None = None

    def add(self, box: Mailbox[Any], period: float | None) -> Line:
        line = Line(box, period, self)
        self.lines.add(line)
        if period is not None:
            self.beating += 1
            self._schedule(line, line.last_write + period)
            if self._wheel is None:
                self._wheel = Pumps()
                self._wheel.start(self._turn)
        return line

    def remove(self, line: Line) -> None:
        self.lines.discard(line)
        if line.period is not None:
            self.beating -= 1
        if not self.beating and self._wheel is not None:
            # No heartbeats left: stop the wheel now, so no task outlives the last response.
            self._wheel.cancel()
            self._wheel = None
            self._heap.clear()
        if not self.lines:
            _loops.pop(self.key, None)

    def _schedule(self, line: Line, due: float) -> None:
        earliest = self._heap[0][0] if self._heap else math.inf
        heapq.heappush(self._heap, (due, next(self._order), line))
        if due < earliest and self._wake is not None:
            self._wake.set()

    async def _turn(self) -> None:
        heap = self._heap
        while heap:
            due = heap[0][0]
            if due > anyio.current_time():
                self._wake = anyio.Event()
                with anyio.CancelScope(deadline=due):
                    await self._wake.wait()
                self._wake = None
                continue
            now = anyio.current_time()
            while heap and heap[0][0] <= now:
                _, _, line = heapq.heappop(heap)
                if line.closed:
                    continue
                assert line.period is not None
                if line.heartbeat_due(now):
                    line.box.poke()
                    # The writer updates last_write when it has written the heartbeat.
                    self._schedule(line, now + line.period)
                else:
                    self._schedule(line, line.last_write + line.period)


_loops: dict[object, _Loop] = {}
_loops_lock = threading.Lock()


def _loop_key() -> object:
    if _running_trio():
        import trio

        return trio.lowlevel.current_trio_token()
    import asyncio

    return asyncio.get_running_loop()


def open_line(box: Mailbox[Any], heartbeat: float | None) -> Line:
    """Register a live response on the running loop; close the line when the response ends."""
    key = _loop_key()
    with _loops_lock:
        loop = _loops.get(key)
        if loop is None:
            loop = _loops[key] = _Loop(key)
    return loop.add(box, heartbeat)


def request_shutdown() -> None:
    """Ask every live streamkit response, in every event loop, to finish now.

    Each response stops reading its stream, writes its final frame (if it has one) within its
    grace period, and ends. Safe to call from any thread or a signal handler.
    """
    with _loops_lock:
        loops = list(_loops.values())
    for loop in loops:
        try:
            _call_in_loop(loop.key, _stop_all, loop)
        except RuntimeError:  # that loop has finished (trio's RunFinishedError is one too)
            pass


def _stop_all(loop: _Loop) -> None:
    for line in list(loop.lines):
        line.stop()


def _call_in_loop(key: object, function: Any, *args: Any) -> None:
    run_sync_soon = getattr(key, "run_sync_soon", None)  # a trio token
    if run_sync_soon is not None:
        run_sync_soon(function, *args)
    else:
        key.call_soon_threadsafe(function, *args)  # type: ignore[attr-defined]
