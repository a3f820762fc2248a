"""Running an asyncio-only client (redis-py's) from trio, on an event loop in a thread.

redis-py's asyncio client calls asyncio directly, so under trio every call is handed to a
private asyncio loop running in a daemon thread, and the trio task waits for its result
without blocking trio's loop. Cancelling the trio task cancels the asyncio task and waits
until it has finished, so no call outlives its caller.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import anyio

from streamkit.broker._errors import BrokerClosed

T = TypeVar("T")


class AsyncioThread:
    """An asyncio event loop in a daemon thread; :meth:`run` awaits coroutines on it from trio.

    >>> thread = AsyncioThread()                       # doctest: +SKIP
    >>> await thread.run(client.ping)
    >>> await thread.aclose()
    """

    def __init__(self, name: str = "streamkit-asyncio") -> None:
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name=name, daemon=True)
        self._thread.start()
        self._closed = False

    async def run(self, function: Callable[..., Awaitable[T]], *args: Any, **kwargs: Any) -> T:
        """``await function(*args, **kwargs)`` on the asyncio loop; must be called from trio."""
        import trio

        if self._closed:
            raise BrokerClosed("the broker's asyncio thread has stopped")
        token = trio.lowlevel.current_trio_token()
        done = trio.Event()
        started: list[asyncio.Task[T]] = []

        def finished(task: asyncio.Task[T]) -> None:
            if not task.cancelled():
                task.exception()  # retrieved here, so asyncio never logs it as lost
            try:
                token.run_sync_soon(done.set)
            except trio.RunFinishedError:  # pragma: no cover - trio is gone, nobody waits
                pass

        def begin() -> None:
            task = self._loop.create_task(_call(function, args, kwargs))
            started.append(task)
            task.add_done_callback(finished)

        def cancel() -> None:
            started[0].cancel()

        self._loop.call_soon_threadsafe(begin)
        try:
            await done.wait()
        except BaseException:
            # Runs after begin() (the loop's callbacks run in order): the task exists.
            self._loop.call_soon_threadsafe(cancel)
            with trio.CancelScope(shield=True):
                await done.wait()
            raise
        task = started[0]
        if task.cancelled():
            raise BrokerClosed("the call was cancelled because the broker closed")
        return task.result()

    async def aclose(self) -> None:
        """Cancel what still runs on the loop, stop it and join its thread."""
        if self._closed:
            return
        self._closed = True

        async def cancel_all() -> None:
            tasks = [task for task in asyncio.all_tasks(self._loop) if task is not asyncio.current_task()]
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            await self._loop.shutdown_asyncgens()

        def stop(future: asyncio.Future[None]) -> None:
            self._loop.stop()

        def begin() -> None:
            self._loop.create_task(cancel_all()).add_done_callback(stop)

        self._loop.call_soon_threadsafe(begin)
        await anyio.to_thread.run_sync(self._thread.join)
        self._loop.close()


async def _call(function: Callable[..., Awaitable[T]], args: tuple[Any, ...], kwargs: dict[str, Any]) -> T:
    return await function(*args, **kwargs)
