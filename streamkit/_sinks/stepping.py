"""Running a write coroutine to completion without a task, when it does not need to wait.

A keep-alive on an idle connection is a few bytes that the socket takes at once. Waking the
connection's writer task to send them costs more than the send itself, so the heartbeat wheel
runs the write coroutine right where it is: on asyncio, a coroutine that completes without
suspending is just a function call. If it does suspend (the socket's buffer is full), the
half-done write is handed to the writer task, which finishes it before anything else.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any


class Suspended:
    """A write that started outside any task and now waits for ``awaiting``."""

    __slots__ = ("coroutine", "awaiting")

    def __init__(self, coroutine: Coroutine[Any, Any, Any], awaiting: Any) -> None:
        self.coroutine = coroutine
        self.awaiting = awaiting

    async def finish(self) -> None:
        """Finish the write inside the calling task (asyncio only)."""
        awaiting = self.awaiting
        while True:
            if awaiting is None:  # a bare yield, as in asyncio.sleep(0)
                await asyncio.sleep(0)
            else:
                # The future's own await marked it "blocking" when it was yielded to step();
                # a task clears that mark when it takes a yielded future over, and awaiting a
                # pending future that is still marked raises "await wasn't used with future".
                awaiting._asyncio_future_blocking = False
                await awaiting
            try:
                awaiting = self.coroutine.send(None)
            except StopIteration:
                return


def step(coroutine: Coroutine[Any, Any, Any]) -> Suspended | None:
    """Run ``coroutine`` until it completes (None) or first suspends (a :class:`Suspended`).

    Only for asyncio, whose coroutines suspend on futures any task can await. Exceptions
    propagate, with the coroutine closed.
    """
    try:
        awaiting = coroutine.send(None)
    except StopIteration:
        return None
    return Suspended(coroutine, awaiting)
