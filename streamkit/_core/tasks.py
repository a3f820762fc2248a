"""Background tasks owned by one run, outside the consumer's cancel scopes.

A pipeline must work under a plain ``async for``, so an operator that needs background work
(merge, heartbeat, debounce, ...) cannot hold a task group open across a ``yield``: the
consumer's frame would then sit inside the group's cancel scope between items (DESIGN.md,
section 7). Instead each run starts its *pumps* as tasks of the event loop itself (an asyncio
task, or a trio system task), each inside a cancel scope of its own. Pumps hand their items over
bounded memory streams; the first error is recorded, cancels the other pumps and is re-raised
in the consumer with its original type. ``aclose()`` cancels the pumps and waits for them.
"""

from __future__ import annotations

import asyncio
import contextvars
from collections.abc import Awaitable, Callable
from typing import Any

import anyio

from streamkit._core.backend import running_trio


_live = 0


def live_pumps() -> int:
    """How many pumps are running in this process (tests use it to check that none leak)."""
    return _live


class Pumps:
    """The background tasks of one run.

    >>> pumps = Pumps()                          # doctest: +SKIP
    >>> pumps.start(forward, upstream, send)
    >>> try:
    ...     ...                                  # receive what the pumps send
    ...     pumps.raise_error()
    ... finally:
    ...     await pumps.aclose()
    """

    __slots__ = ("_scopes", "_pending", "_done", "_tasks", "error")

    def __init__(self) -> None:
        self._scopes: set[anyio.CancelScope] = set()
        self._pending = 0
        self._done: anyio.Event | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self.error: BaseException | None = None
        """The first error a pump raised; None while every pump is healthy."""

    def start(self, function: Callable[..., Awaitable[Any]], *args: Any) -> anyio.CancelScope:
        """Run ``function(*args)`` in the background until it returns or the run closes.

        Returns the pump's cancel scope, to stop this pump alone.
        """
        global _live
        scope = anyio.CancelScope()
        self._scopes.add(scope)
        self._pending += 1
        _live += 1
        if running_trio():
            import trio

            # A system task lives outside every user cancel scope; keep the caller's context.
            trio.lowlevel.spawn_system_task(
                self._main, scope, function, args, context=contextvars.copy_context()
            )
        else:
            task = asyncio.get_running_loop().create_task(self._main(scope, function, args))
            # The loop keeps only weak references to tasks.
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        return scope

    async def _main(
        self, scope: anyio.CancelScope, function: Callable[..., Awaitable[Any]], args: tuple[Any, ...]
    ) -> None:
        try:
            with scope:
                await function(*args)
        except Exception as exc:
            self.fail(exc)
        finally:
            global _live
            _live -= 1
            self._scopes.discard(scope)
            self._pending -= 1
            if self._pending == 0 and self._done is not None:
                self._done.set()

    def fail(self, error: BaseException) -> None:
        """Record ``error`` (the first one wins) and cancel every pump."""
        if self.error is None:
            self.error = error
        self.cancel()

    def cancel(self) -> None:
        """Cancel every pump; returns at once."""
        for scope in self._scopes:
            scope.cancel()

    def raise_error(self) -> None:
        """Re-raise the first pump error, if any, with its original type and traceback."""
        if self.error is not None:
            raise self.error

    async def aclose(self) -> None:
        """Cancel every pump and wait until all have finished their cleanup."""
        self.cancel()
        if self._pending:
            # Reuse a waiting closer's event: replacing it would leave that closer waiting forever.
            if self._done is None or self._done.is_set():
                self._done = anyio.Event()
            with anyio.CancelScope(shield=True):
                await self._done.wait()
