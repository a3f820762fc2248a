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
import math
import threading
from collections.abc import Callable, Coroutine
from typing import Any

import anyio

from streamkit._core.mailbox import Mailbox
from streamkit._core.backend import Waitable, clock, event_class, running_trio
from streamkit._core.tasks import Pumps
from streamkit._sinks.stepping import Suspended, step


class Line:
    """One live response: its mailbox (to wake its writer), heartbeat period and last write time.

    The writer marks itself ``idle`` while it waits for frames; only then may the wheel write
    a keep-alive itself: ``keepalive_nowait(keepalive_data)`` where the sink has a
    ``write_nowait`` (it writes at once or returns False; the wheel counts those it wrote in
    ``keepalives`` for the writer to report), else through ``keepalive`` (a function returning
    the write coroutine).
    """

    __slots__ = (
        "box", "period", "last_write", "due", "stopping", "closed", "now", "idle", "keepalive",
        "keepalive_nowait", "keepalive_data", "keepalives", "beat_due", "suspended", "failed", "on_stop", "_loop",
    )

    def __init__(self, box: Mailbox[Any], period: float | None, loop: _Loop) -> None:
        self.box = box
        self.period = period
        self.now = loop.now
        """The loop's clock (what ``anyio.current_time()`` reads), resolved once."""
        self.last_write = self.now()
        self.due = math.inf
        """When the wheel looks at this line next (it may have written since)."""
        self.stopping = False
        self.closed = False
        self.idle = False
        self.keepalive: Callable[[], Coroutine[Any, Any, Any]] | None = None
        self.keepalive_nowait: Callable[[bytes], bool] | None = None
        self.keepalive_data = b""
        self.keepalives = 0
        """Keep-alives the wheel wrote through ``keepalive_nowait`` and the writer has not counted yet."""
        self.beat_due = False
        """The writer must write a keep-alive (the wheel could not write it itself)."""
        self.suspended: Suspended | None = None
        """A keep-alive the wheel started that the writer must finish."""
        self.failed: BaseException | None = None
        """The error a keep-alive write by the wheel raised: the client has gone."""
        self.on_stop: Callable[[], None] | None = None
        """Called on shutdown, in the loop, before the writer is woken (it bounds the delivery)."""
        self._loop = loop

    def wrote(self) -> None:
        self.last_write = self.now()

    def stop(self) -> None:
        """Ask the writer to finish: shutdown."""
        self.stopping = True
        if self.on_stop is not None:
            self.on_stop()
        self.box.poke()

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            self._loop.remove(self)


class _Loop:
    """The lines of one event loop and its heartbeat wheel.

    The wheel is a timing wheel: lines wait in *slots*, one per ``granule`` seconds of due
    time, and a small heap orders only the slots in use. Rescheduling a line is then an
    append, whatever the number of lines -- the lines of a loop mostly share a period, so
    those beaten in one turn all land in one slot. A slot is served at its start, so a
    keep-alive comes at most one granule (a line's slack, or less) before it is due.
    """

    def __init__(self, key: object) -> None:
        self.key = key
        self.now = clock()
        self.new_event = event_class()
        self.steps = not running_trio()
        """Whether write coroutines can be stepped outside a task (asyncio) or not (trio)."""
        self.lines: set[Line] = set()
        self.beating = 0
        self._granule = math.inf  # the smallest slack of the lines so far
        self._slots: dict[int, list[Line]] = {}
        self._pending: list[int] = []  # a heap of the keys of _slots
        self._wheel: Pumps | None = None
        self._wake: Waitable | None = None

    def add(self, box: Mailbox[Any], period: float | None) -> Line:
        line = Line(box, period, self)
        self.lines.add(line)
        if period is not None:
            self.beating += 1
            slack = _slack(period)
            if slack < self._granule:
                self._regranulate(slack)
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
            self._slots.clear()
            self._pending.clear()
            self._granule = math.inf
        if not self.lines:
            _loops.pop(self.key, None)

    def _schedule(self, line: Line, due: float) -> None:
        line.due = due
        slot = int(due // self._granule)
        waiting = self._slots.get(slot)
        if waiting is not None:
            waiting.append(line)
            return
        self._slots[slot] = [line]
        pending = self._pending
        if (not pending or slot < pending[0]) and self._wake is not None:
            self._wake.set()  # due before anything the wheel sleeps for
        heapq.heappush(pending, slot)

    def _regranulate(self, granule: float) -> None:
        """Make slots finer (a line with a shorter period came): put every line in its new slot."""
        waiting = [line for lines in self._slots.values() for line in lines]
        self._slots.clear()
        self._pending.clear()
        self._granule = granule
        for line in waiting:
            self._schedule(line, line.due)

    async def _turn(self) -> None:
        pending, slots = self._pending, self._slots
        while pending:
            start = pending[0] * self._granule
            if start > self.now():
                self._wake = self.new_event()
                with anyio.CancelScope(deadline=start):
                    await self._wake.wait()
                self._wake = None
                continue  # the first slot may have changed meanwhile
            lines = slots.pop(heapq.heappop(pending))
            now = self.now()
            horizon = now + self._granule  # what is due before the next slot is served now
            for line in lines:
                if line.closed:
                    continue
                period: float = line.period  # type: ignore[assignment]  # lines without one never wait here
                if horizon - line.last_write >= period:
                    self._beat(line, now)
                    self._schedule(line, now + period)
                else:
                    # Written to since: due a period after that write.
                    self._schedule(line, line.last_write + period)

    def _beat(self, line: Line, now: float) -> None:
        try:
            if line.idle:
                nowait = line.keepalive_nowait
                if nowait is not None and nowait(line.keepalive_data):
                    line.last_write = now
                    line.keepalives += 1
                    return
                if self.steps and line.keepalive is not None:
                    suspended = step(line.keepalive())
                    line.last_write = now
                    if suspended is not None:
                        line.suspended = suspended
                        line.idle = False
                        line.box.poke()
                    return
        except Exception as error:
            line.failed = error
            line.box.poke()
            return
        # The writer must write it: it is busy, or this loop cannot step its write coroutine.
        line.beat_due = True
        line.box.poke()


def _slack(period: float | None) -> float:
    """How early a keep-alive may be: a tenth of its period, at most a quarter second."""
    return min(0.25, (period or 0.0) / 10)


_loops: dict[object, _Loop] = {}
_loops_lock = threading.Lock()


def _loop_key() -> object:
    if running_trio():
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

    >>> signal.signal(signal.SIGTERM, lambda *_: request_shutdown())   # doctest: +SKIP
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
