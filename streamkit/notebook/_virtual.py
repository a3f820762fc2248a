"""Running async code on a virtual clock from a notebook (whose own event loop is already busy)."""

from __future__ import annotations

import threading
from collections.abc import Awaitable, Callable
from typing import Any, Literal, TypeVar

import anyio
import anyio.from_thread
import anyio.lowlevel

from streamkit._core.closing import describe
from streamkit.testing import VirtualTimeLoop

T = TypeVar("T")

Backend = Literal["asyncio", "trio"]

_START_TIMEOUT = 5.0  # seconds for a new thread to start its event loop; real time


def run_virtual(function: Callable[..., Awaitable[T]], *args: Any, backend: Backend = "asyncio") -> T:
    """Run ``await function(*args)`` on a fresh virtual clock and return its result.

    The clock starts at 0 and jumps to the next deadline whenever every task is waiting, so a
    minute of ``interval``, ``throttle`` and ``debounce`` takes a few milliseconds. It runs in
    a new thread with an event loop of its own, because a notebook's loop is already running
    (and must not be put on virtual time). Errors are raised here with their original type.
    Interrupting the cell cancels the run, and its cleanup runs before the interrupt goes on.

        items = run_virtual(pipeline.list)
        timeline = run_virtual(record, backend="trio")

    Only for code whose waiting is all in time: threads, files and sockets need the real clock.
    Call it from a cell without top-level ``await``: in a cell with one, ipykernel turns an
    interrupt into cancelling the cell's coroutine, which a blocking call cannot see.

    >>> run_virtual(lambda: (interval(60) | take(3)).list())   # a virtual minute each, instantly  # doctest: +SKIP
    [0, 1, 2]
    """
    if not callable(function):
        raise TypeError(f"run_virtual(function) takes an async function, got {describe(function)}")
    if backend not in ("asyncio", "trio"):
        raise ValueError(f"run_virtual(backend=...) must be 'asyncio' or 'trio', got {backend!r}")

    outcome: dict[str, Any] = {}
    running = threading.Event()  # set once `token` and `scope` are there to cancel the run
    finished = threading.Event()

    async def main() -> None:
        with anyio.CancelScope() as scope:
            outcome["token"] = anyio.lowlevel.current_token()
            outcome["scope"] = scope
            running.set()
            outcome["result"] = await function(*args)
        if scope.cancelled_caught:
            outcome["cancelled"] = True

    def thread_main() -> None:
        try:
            anyio.run(main, backend=backend, backend_options=_virtual_clock(backend))
        except BaseException as error:  # handed to the calling thread, raised there
            outcome["error"] = error
        finally:
            running.set()
            finished.set()

    worker = threading.Thread(target=thread_main, name="streamkit-run-virtual", daemon=True)
    try:
        worker.start()
        # Not worker.join(): on Python 3.11 a KeyboardInterrupt in join() marks a thread that is
        # still running as stopped. An Event wait is interrupted cleanly.
        finished.wait()
    except BaseException:
        # KeyboardInterrupt from an interrupted cell: cancel the run, wait for its cleanup.
        if running.wait(_START_TIMEOUT):
            _cancel(outcome)
            finished.wait()
        raise
    if "error" in outcome:
        error: BaseException = outcome.pop("error")
        raise error
    if "cancelled" in outcome:  # pragma: no cover - only an interrupt cancels the scope, and that raised above
        raise RuntimeError("run_virtual(): the run was cancelled")
    result: T = outcome["result"]
    return result


def _cancel(outcome: dict[str, Any]) -> None:
    if "scope" not in outcome:
        return
    try:
        anyio.from_thread.run_sync(outcome["scope"].cancel, token=outcome["token"])
    except RuntimeError:
        pass  # the run finished meanwhile and its loop is gone


def _virtual_clock(backend: Backend) -> dict[str, Any]:
    if backend == "asyncio":
        return {"loop_factory": VirtualTimeLoop}
    try:
        from trio.testing import MockClock
    except ImportError:
        raise ImportError("run_virtual(backend='trio') needs trio: pip install 'streamkit[trio]'") from None
    return {"clock": MockClock(autojump_threshold=0)}
