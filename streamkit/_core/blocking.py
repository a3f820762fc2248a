"""Using streams from plain synchronous code: :func:`iterate_sync` and :func:`run_sync`.

A script, a Django view, a WSGI server or a thread pool has no event loop. Instead of starting
one per call (``asyncio.run`` cannot nest, and an event loop per request is slow), streamkit
runs pipelines on one shared background thread with an asyncio event loop (driven through
anyio), started lazily on first use. It is a daemon thread; at interpreter exit, runs still
open on it are cancelled and their cleanup runs before the process ends.

Items cross from the loop thread to the caller's thread through a bounded hand-off: the
pipeline reads at most ``buffer`` items ahead of a slow caller. Only when a side actually has
to wait does a wake-up cross the threads.
"""

from __future__ import annotations

import asyncio
import atexit
import contextvars
import inspect
import logging
import os
import threading
from collections import deque
from collections.abc import AsyncIterable, Awaitable, Callable, Iterator
from types import TracebackType
from typing import Any, Generic, TypeVar, overload

import anyio

from streamkit._core.closing import describe, opened
from streamkit._core.validate import check_positive_int

T = TypeVar("T")

logger = logging.getLogger("streamkit")

DEFAULT_HANDOFF_BUFFER = 16
"""Items a pipeline may read ahead of its synchronous caller."""

_SHUTDOWN_TIMEOUT = 5.0
"""Seconds the interpreter waits at exit for open runs on the loop thread to clean up."""


class LoopThreadShutDown(RuntimeError):
    """The shared loop thread stopped (at interpreter exit) before a run submitted to it finished."""


# -- the shared loop thread ----------------------------------------------------------------


class _Job:
    """One coroutine run on the loop thread, cancellable and awaitable from any thread."""

    __slots__ = ("_function", "_loop", "_scope", "_cancelled", "done", "value", "error", "started", "finished")

    def __init__(self, function: Callable[[], Awaitable[Any]], loop: asyncio.AbstractEventLoop) -> None:
        self._function = function
        self._loop = loop
        self._scope: anyio.CancelScope | None = None
        self._cancelled = False
        self.done = threading.Event()
        """Set once the coroutine has returned, raised or been cancelled, cleanup included."""
        self.value: Any = None
        self.error: BaseException | None = None
        self.started = False
        self.finished = False
        """True when the coroutine returned or raised (not when it was cancelled)."""

    async def run(self) -> None:
        self.started = True
        try:
            with anyio.CancelScope() as scope:
                self._scope = scope
                if self._cancelled:
                    scope.cancel()
                try:
                    self.value = await self._function()
                except Exception as error:
                    self.error = error
                self.finished = True
        finally:
            self._scope = None
            self.done.set()

    def cancel(self) -> None:
        """Cancel the coroutine from any thread; returns at once (wait on :attr:`done`)."""
        self._cancelled = True
        if _on_loop_thread(self._loop):
            self._cancel_here()
            return
        try:
            self._loop.call_soon_threadsafe(self._cancel_here)
        except RuntimeError:  # the loop has already stopped: nothing left to cancel
            self.done.set()

    def on_its_loop(self) -> bool:
        """True when called from the loop thread running this job (where waiting would deadlock)."""
        return _on_loop_thread(self._loop)

    def _cancel_here(self) -> None:
        if self._scope is not None:
            self._scope.cancel()

    def wait(self, timeout: float | None = None) -> bool:
        """Wait until the job is done; False if ``timeout`` passed first."""
        return self.done.wait(timeout)

    def result(self) -> Any:
        """The coroutine's value; its error re-raised with the original type and traceback."""
        if self.error is not None:
            raise self.error
        if not self.finished:
            raise LoopThreadShutDown("the streamkit loop thread stopped before this run finished")
        return self.value


def _on_loop_thread(loop: asyncio.AbstractEventLoop) -> bool:
    try:
        return asyncio.get_running_loop() is loop
    except RuntimeError:
        return False


class _LoopThread:
    """A daemon thread running an asyncio event loop (through anyio) that runs submitted jobs."""

    def __init__(self) -> None:
        self._ready = threading.Event()
        self._stopping = False
        self.loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._jobs: dict[_Job, asyncio.Task[None]] = {}
        self.thread = threading.Thread(target=self._main, name="streamkit-loop", daemon=True)
        self.thread.start()
        self._ready.wait()

    def _main(self) -> None:
        try:
            anyio.run(self._serve, backend="asyncio")
        finally:
            self._ready.set()  # never leave a starter waiting, even if the loop failed to start

    async def _serve(self) -> None:
        self.loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        self._ready.set()
        await self._stop.wait()
        # Shutting down: cancel every open run and let each finish its cleanup.
        for job in list(self._jobs):
            job.cancel()
        await asyncio.gather(*self._jobs.values(), return_exceptions=True)

    def submit(self, function: Callable[[], Awaitable[Any]]) -> _Job:
        """Start ``function()`` on the loop; the returned job tells when and how it ended."""
        loop = self.loop
        if loop is None or self._stopping:
            raise LoopThreadShutDown("the streamkit loop thread has stopped (the interpreter is exiting)")
        job = _Job(function, loop)
        try:
            # A fresh context: the caller's may say it runs trio (sniffio), which would mislead
            # anyio on this asyncio loop.
            loop.call_soon_threadsafe(self._spawn, job, context=contextvars.Context())
        except RuntimeError:
            raise LoopThreadShutDown("the streamkit loop thread has stopped (the interpreter is exiting)") from None
        return job

    def _spawn(self, job: _Job) -> None:
        if self._stopping:
            job.done.set()  # result() reports the shutdown
            return
        assert self.loop is not None
        # A plain task of the loop, like a run's pumps; anyio's cancel scopes work inside it.
        task = self.loop.create_task(job.run())
        self._jobs[job] = task
        task.add_done_callback(lambda _: self._jobs.pop(job, None))

    def stop(self, timeout: float = _SHUTDOWN_TIMEOUT) -> None:
        """Cancel every open run, wait up to ``timeout`` seconds for their cleanup, end the thread."""
        if self._stopping or not self.thread.is_alive():  # e.g. in a forked child, it never ran
            return
        self._stopping = True
        loop, stop = self.loop, self._stop
        if loop is None or stop is None:
            return
        try:
            loop.call_soon_threadsafe(stop.set)
        except RuntimeError:  # the loop is already closed
            return
        if threading.current_thread() is not self.thread:
            self.thread.join(timeout)
            if self.thread.is_alive():
                logger.warning("streamkit: runs on the loop thread did not finish their cleanup within %.3g s at exit", timeout)


_loop_thread: _LoopThread | None = None
_loop_thread_lock = threading.Lock()


def _shared_loop_thread() -> _LoopThread:
    """The process's loop thread, started on first use."""
    global _loop_thread
    with _loop_thread_lock:
        if _loop_thread is None or not _loop_thread.thread.is_alive():
            _loop_thread = _LoopThread()
            atexit.register(_loop_thread.stop)
        return _loop_thread


def _forget_loop_thread_after_fork() -> None:
    # A forked child (gunicorn --preload) has no copy of the thread: start a fresh one on demand.
    global _loop_thread, _loop_thread_lock
    _loop_thread = None
    _loop_thread_lock = threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_loop_thread_after_fork)


def _refuse_on_loop_thread(what: str) -> None:
    thread = _loop_thread
    if thread is not None and threading.current_thread() is thread.thread:
        raise RuntimeError(f"{what} blocks, and was called on streamkit's loop thread, which it would deadlock; use `await` there")


# -- run_sync ------------------------------------------------------------------------------


@overload
def run_sync(awaitable: Awaitable[T], /) -> T: ...
@overload
def run_sync(function: Callable[..., Awaitable[T]], /, *args: Any) -> T: ...
def run_sync(awaitable_or_function: Any, /, *args: Any) -> Any:
    """Run one coroutine on streamkit's loop thread from synchronous code and return its result.

    Pass an awaitable (``run_sync(stream.list())``) or an async function and its arguments
    (``run_sync(fetch, url)``; it is then called on the loop thread). Errors are re-raised with
    their original type. If the waiting thread is interrupted (Ctrl-C), the coroutine is
    cancelled and its cleanup has run before the interruption propagates.

    >>> import streamkit as sk
    >>> sk.run_sync((sk.iterate(range(5)) | sk.map(lambda n: n * n)).list())
    [0, 1, 4, 9, 16]

    It works where ``asyncio.run`` refuses to (a thread whose own loop is running, a notebook),
    though it blocks that thread meanwhile; inside async code, prefer ``await``.
    """
    job: _Job | None = None
    try:
        function = _as_coroutine_function(awaitable_or_function, args)
        _refuse_on_loop_thread("run_sync()")
        job = _shared_loop_thread().submit(function)
        job.wait()
    except BaseException:  # an error before it ran, or Ctrl-C while waiting
        if job is not None:
            job.cancel()
            job.wait()
        raise
    finally:
        if job is None or not job.started:  # it never ran: close it so Python does not warn
            _discard(awaitable_or_function)
    return job.result()


def _as_coroutine_function(value: Any, args: tuple[Any, ...]) -> Callable[[], Awaitable[Any]]:
    if inspect.isawaitable(value):
        if args:
            raise TypeError("run_sync(awaitable) takes no further arguments; pass an async function to give it arguments")

        async def await_it() -> Any:
            return await value

        return await_it
    if callable(value):

        async def call_it() -> Any:
            result = value(*args)
            if not inspect.isawaitable(result):
                raise TypeError(f"run_sync(function): {describe(value)} returned {describe(result)}, not an awaitable")
            return await result

        return call_it
    raise TypeError(f"run_sync() takes an awaitable or an async function, got {describe(value)}")


def _discard(value: Any) -> None:
    """Close a coroutine that will never run, so Python does not warn it was never awaited."""
    if inspect.iscoroutine(value):
        value.close()


# -- iterate_sync --------------------------------------------------------------------------


class _Gone(Exception):
    """The synchronous consumer has closed the iterator."""


_END: Any = object()


class _Handoff(Generic[T]):
    """A bounded FIFO from a producer on the loop thread to a consumer on another thread."""

    __slots__ = ("_items", "_capacity", "_lock", "_readable", "_ended", "_error", "_gone", "_space", "_loop",
                 "_waiting", "_flush_pending")

    def __init__(self, capacity: int) -> None:
        self._items: deque[T] = deque()
        self._capacity = capacity
        self._lock = threading.Lock()
        self._readable = threading.Condition(self._lock)
        self._ended = False
        self._error: BaseException | None = None
        self._gone = False
        self._space: anyio.Event | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._waiting = False
        self._flush_pending = False

    # producer side, on the loop thread

    def bind(self, loop: asyncio.AbstractEventLoop) -> None:
        """Tell the hand-off which loop its producer runs on (before the first put)."""
        self._loop = loop

    async def put(self, item: T) -> None:
        while True:
            with self._lock:
                if self._gone:
                    raise _Gone
                if len(self._items) < self._capacity:
                    self._items.append(item)
                    if self._waiting and not self._flush_pending:
                        # Wake the consumer when the producer next pauses (or fills the buffer),
                        # not per item: a burst then crosses threads once, an LLM token at once.
                        self._flush_pending = True
                        assert self._loop is not None
                        self._loop.call_soon(self._flush)
                    return
                space = self._space = anyio.Event()
            await space.wait()

    def _flush(self) -> None:
        with self._lock:
            self._flush_pending = False
            self._readable.notify()

    def end(self, error: BaseException | None) -> None:
        with self._lock:
            self._ended = True
            if not self._gone:
                self._error = error
            self._readable.notify_all()

    # consumer side, on any thread

    def take(self) -> T:
        with self._lock:
            while not self._items:
                if self._gone:
                    raise StopIteration
                if self._ended:
                    # The error is raised once; after it the iterator is simply exhausted.
                    error, self._error = self._error, None
                    if error is not None:
                        raise error
                    raise StopIteration
                self._waiting = True
                try:
                    self._readable.wait()
                finally:
                    self._waiting = False
            item = self._items.popleft()
            # Wake a waiting producer only once half the buffer is free, so a fast stream
            # crosses threads once per half buffer rather than once per item.
            if len(self._items) > self._capacity // 2:
                return item
            space, self._space = self._space, None
        if space is not None:
            self._wake(space)
        return item

    def leave(self) -> None:
        """The consumer is gone: drop what waits, refuse more, wake both sides."""
        with self._lock:
            self._gone = True
            self._items.clear()
            space, self._space = self._space, None
            self._readable.notify_all()
        if space is not None:
            self._wake(space)

    def _wake(self, space: anyio.Event) -> None:
        loop = self._loop
        if loop is None:  # pragma: no cover - set before any waiter exists
            return
        try:
            loop.call_soon_threadsafe(space.set)
        except RuntimeError:  # the loop stopped; the producer is gone with it
            pass


async def _feed(stream: AsyncIterable[T], handoff: _Handoff[T]) -> None:
    """Run ``stream`` on the loop thread into ``handoff``; end it after the stream's cleanup."""
    error: BaseException | None = LoopThreadShutDown(
        "the streamkit loop thread stopped (the interpreter is exiting) while this stream was running"
    )
    handoff.bind(asyncio.get_running_loop())
    try:
        async with opened(stream) as items:
            async for item in items:
                await handoff.put(item)
        error = None
    except _Gone:
        error = None
    except Exception as exc:
        error = exc
    finally:
        # After ``opened`` has closed the stream: a caller that sees the end knows cleanup ran.
        handoff.end(error)


def _check_async_iterable(stream: object) -> None:
    if not isinstance(stream, AsyncIterable):
        hint = "; wrap a sync iterable with streamkit.iterate()" if hasattr(stream, "__iter__") else ""
        raise TypeError(f"iterate_sync() takes a stream or async iterable, got {describe(stream)}{hint}")


class SyncIterator(Generic[T], Iterator[T]):
    """A plain iterator over a stream run on streamkit's loop thread; see :func:`iterate_sync`.

    It is also a valid WSGI response body: an iterable with a ``close()`` the server calls.

    >>> with iterate_sync(interval(0.1) | take(3)) as ticks:   # doctest: +SKIP
    ...     for tick in ticks:
    ...         print(tick)
    """

    __slots__ = ("_stream", "_handoff", "_job", "_lock", "_closed", "__weakref__")

    def __init__(self, stream: AsyncIterable[T], buffer: int = DEFAULT_HANDOFF_BUFFER) -> None:
        _check_async_iterable(stream)
        self._stream: AsyncIterable[T] | None = stream
        self._handoff: _Handoff[T] = _Handoff(check_positive_int("iterate_sync(buffer)", buffer))
        self._job: _Job | None = None
        self._lock = threading.Lock()
        self._closed = False

    def __iter__(self) -> SyncIterator[T]:
        return self

    def __next__(self) -> T:
        if self._job is None:
            self._start()
        return self._handoff.take()

    def _start(self) -> None:
        with self._lock:
            if self._job is not None or self._closed or self._stream is None:
                return
            _refuse_on_loop_thread("iterating a stream synchronously")
            stream, handoff = self._stream, self._handoff
            self._stream = None  # the run holds it from now on
            self._job = _shared_loop_thread().submit(lambda: _feed(stream, handoff))

    def close(self, timeout: float | None = None) -> bool:
        """Cancel the run and wait until its cleanup has run (the source's ``finally`` included).

        Safe to call from any thread, more than once, and while another thread is blocked in
        ``next()`` (which then ends). Returns False if ``timeout`` seconds passed before the
        cleanup finished. On the loop thread itself it cancels without waiting.
        """
        with self._lock:
            self._closed = True
            self._stream = None
            job = self._job
        self._handoff.leave()
        if job is None:
            return True
        job.cancel()
        if job.on_its_loop():
            return job.done.is_set()
        return job.wait(timeout)

    def __enter__(self) -> SyncIterator[T]:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def __del__(self) -> None:
        # An iterator dropped without close() (a ``for`` loop left by ``break``) still stops
        # its run; the cleanup finishes on the loop thread without anyone waiting for it.
        try:
            job = self._job
            if job is not None and not self._closed:
                self._handoff.leave()
                job.cancel()
        except Exception:  # pragma: no cover - interpreter teardown
            pass

    def __repr__(self) -> str:
        state = "closed" if self._closed else "running" if self._job is not None else "not started"
        return f"<SyncIterator {state}>"


def iterate_sync(stream: AsyncIterable[T], *, buffer: int = DEFAULT_HANDOFF_BUFFER) -> SyncIterator[T]:
    """Iterate a stream from synchronous code; the pipeline runs on streamkit's loop thread.

    The run starts at the first ``next()``. The pipeline reads at most ``buffer`` items ahead
    of the caller. Errors are re-raised in the caller with their original type. Leaving early
    with ``close()`` (or the ``with`` block) cancels the run and returns once its cleanup has
    run, the source's ``finally`` included.

    >>> import streamkit as sk
    >>> with sk.iterate_sync(sk.iterate("abc") | sk.map(str.upper)) as letters:
    ...     for letter in letters:
    ...         if letter == "B":
    ...             break                 # the run is cancelled and cleaned up at the block's end
    >>> list(sk.iterate_sync(sk.iterate("abc")))
    ['a', 'b', 'c']

    A WSGI app can return it as its body: the server calls ``close()`` when the client goes
    away, which stops the upstream.

    >>> def app(environ, start_response):                       # doctest: +SKIP
    ...     start_response("200 OK", [("Content-Type", "text/event-stream")])
    ...     return sk.iterate_sync(tokens | to_sse())
    """
    return SyncIterator(stream, buffer)
