"""The running backend's own clock and event, resolved once instead of on every call.

``anyio.current_time()`` and ``anyio.Event()`` look the backend up on every call (about 2.4
and 5.6 µs here, against 0.5 and 0.7 µs for the backend's own). Hot paths — a mailbox that
blocks, a response that writes keep-alives — resolve them once. These are the very clock and
events anyio uses, so a virtual clock drives them exactly as it drives anyio.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Callable
from typing import Protocol


class Waitable(Protocol):
    def set(self) -> None: ...
    def is_set(self) -> bool: ...
    async def wait(self) -> object: ...


def running_trio() -> bool:
    """True when called from inside a trio run."""
    trio = sys.modules.get("trio")
    if trio is None:
        return False
    try:
        trio.lowlevel.current_task()
    except RuntimeError:
        return False
    return True


def event_class() -> Callable[[], Waitable]:
    """The running backend's event class (``asyncio.Event`` or ``trio.Event``)."""
    if running_trio():
        import trio

        return trio.Event
    return asyncio.Event


def clock() -> Callable[[], float]:
    """The running backend's clock: what ``anyio.current_time()`` returns."""
    if running_trio():
        import trio

        return trio.current_time
    return asyncio.get_running_loop().time


class Changes:
    """A broadcast wake-up: everyone waiting in :meth:`wait` wakes at the next :meth:`notify`.

    One event per round of waiters, made with the backend's own event class (resolved once).
    """

    __slots__ = ("_event", "_new_event")

    def __init__(self) -> None:
        self._event: Waitable | None = None
        self._new_event = event_class()

    def notify(self) -> None:
        if self._event is not None:
            self._event.set()
            self._event = None

    async def wait(self) -> None:
        if self._event is None:
            self._event = self._new_event()
        await self._event.wait()
