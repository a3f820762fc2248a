"""Reading a provider SDK stream inside a streamkit run, and closing it the moment the run ends.

Every adapter accepts the same shapes of source: an SDK stream (sync or async), an SDK stream
manager (``client.messages.stream(...)``, ``client.chat.completions.stream(...)``), an awaitable
of either (``async_client.chat.completions.create(..., stream=True)`` not yet awaited), a list
of recorded chunks, or a function returning any of these. An object is read once (a second
run raises :class:`StreamReusedError`); a function is called afresh by every run, so the
stream is cold and re-runnable.

A run pulls one upstream item at a time and translates it before pulling the next, so a
consumer that stops leaves nothing read ahead. When the run ends, however it ends, the SDK
stream is closed (and with it the HTTP response) before control returns to the consumer.
"""

from __future__ import annotations

import inspect
import threading
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Iterator
from typing import Any, Protocol

import anyio
import anyio.to_thread

from streamkit._core.closing import aclose_quietly, describe
from streamkit._core.errors import StreamReusedError
from streamkit._core.stream import Stream
from streamkit.llm._events import LLMEvent

_END: Any = object()


class Translator(Protocol):
    """Turns one response's provider items into events; one instance per run (it keeps state)."""

    def feed(self, item: Any, /) -> Iterable[LLMEvent]:
        """The events for one upstream item (often none or one)."""
        ...

    def end(self) -> Iterable[LLMEvent]:
        """The events due when the upstream ended; raises if the response was incomplete."""
        ...


def sdk_stream(source: object, translator: Callable[[], Translator], *, adapter: str) -> Stream[LLMEvent]:
    """A stream of events read from ``source`` (see the module docstring) through ``translator``."""
    produce = _producer(source, adapter)

    async def run() -> AsyncIterator[LLMEvent]:
        translate = translator()
        reader = await _open(await produce(), adapter)
        try:
            while (item := await reader.next()) is not _END:
                for event in translate.feed(item):
                    yield event
            for event in translate.end():
                yield event
        finally:
            await reader.aclose()

    run.__qualname__ = f"{adapter}({type(source).__name__})"  # for the Stream's repr
    return Stream(run)


def _is_stream_like(value: object) -> bool:
    return any(
        hasattr(value, name) for name in ("__aiter__", "__anext__", "__iter__", "__next__", "__aenter__", "__enter__")
    )


def _producer(source: object, adapter: str) -> Callable[[], Awaitable[object]]:
    """How each run gets its upstream object; checks the source once, when the stream is built."""
    if isinstance(source, str | bytes | bytearray | dict):
        raise TypeError(f"{adapter}() takes a model's stream, not a {type(source).__name__}: {describe(source)}")
    if isinstance(source, list | tuple):

        async def replay() -> object:
            return source  # recorded chunks: every run replays them

        return replay
    if _is_stream_like(source) or inspect.isawaitable(source):
        used = False

        async def once() -> object:
            nonlocal used
            if used:
                raise StreamReusedError(
                    f"this stream reads {describe(source)}, which can be read only once and was already "
                    f"consumed; for a stream that runs again, pass a function that makes the request, e.g. "
                    f"{adapter}(lambda: client....create(..., stream=True))"
                )
            used = True
            return source

        return once
    if callable(source):
        factory = source

        async def call() -> object:
            # A sync client sends the request inside the call: keep it off the event loop.
            return await _call_in_thread(factory, _discard)

        return call
    raise TypeError(
        f"{adapter}() takes an SDK stream, a stream manager, an awaitable of one, a list of chunks, or a "
        f"function returning one of these; got {describe(source)}"
    )


def _discard(obj: object) -> None:
    """Release what a factory returned to a run that was cancelled meanwhile (in a worker thread)."""
    if inspect.iscoroutine(obj) or inspect.isgenerator(obj):
        obj.close()  # a coroutine never awaited, a generator never started
    elif not any(hasattr(obj, name) for name in ("__aiter__", "__anext__", "__aenter__")):
        close = getattr(obj, "close", None)
        if callable(close):
            close()  # a sync SDK stream: its HTTP response is open


class _Handover:
    """The result of a blocking call whose caller may be cancelled before it returns."""

    __slots__ = ("lock", "abandoned", "done", "result")

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.abandoned = False
        self.done = False
        self.result: Any = None


async def _call_in_thread(function: Callable[[], Any], discard: Callable[[Any], object]) -> Any:
    """``function()`` in a worker thread; if the caller is cancelled first, ``discard`` its result.

    Cancellation does not wait for the call (an HTTP request may hang); whichever side comes
    last — the worker returning, or the cancelled caller — discards the result, exactly once.
    """
    handover = _Handover()

    def call() -> tuple[Any]:
        result = function()
        with handover.lock:
            handover.done = True
            handover.result = result
            abandoned = handover.abandoned
        if abandoned:
            discard(result)
        # Boxed: trio refuses a worker that returns a coroutine, and an AsyncOpenAI call's is one.
        return (result,)

    try:
        return (await anyio.to_thread.run_sync(call, abandon_on_cancel=True))[0]
    except BaseException:
        with handover.lock:
            handover.abandoned = True
            done = handover.done
        if done:
            with anyio.CancelScope(shield=True):
                await anyio.to_thread.run_sync(discard, handover.result)
        raise


class _Reader(Protocol):
    async def next(self) -> Any: ...

    async def aclose(self) -> None: ...


async def _open(obj: object, adapter: str) -> _Reader:
    if inspect.isawaitable(obj):
        obj = await obj
    if isinstance(obj, list | tuple):
        return _ListReader(obj)
    if hasattr(obj, "__anext__") or hasattr(obj, "__aiter__"):
        return _AsyncReader(obj)
    if hasattr(obj, "__next__") or hasattr(obj, "__iter__"):
        return _ThreadReader(obj)
    if hasattr(obj, "__aenter__"):
        manager: Any = obj
        stream = await manager.__aenter__()
        try:
            reader = await _open(stream, adapter)
        except BaseException:
            with anyio.CancelScope(shield=True):
                await manager.__aexit__(None, None, None)
            raise
        return _ManagedReader(reader, manager.__aexit__)
    if hasattr(obj, "__enter__"):
        return await _enter_in_thread(obj, adapter)
    raise TypeError(f"{adapter}(): the source gave {describe(obj)}, which is not a stream of chunks")


class _ListReader:
    __slots__ = ("_items",)

    def __init__(self, items: list[Any] | tuple[Any, ...]) -> None:
        self._items = iter(items)

    async def next(self) -> Any:
        return next(self._items, _END)

    async def aclose(self) -> None:
        pass


class _AsyncReader:
    """An async SDK stream or async generator, closed (and its HTTP response with it) on aclose."""

    __slots__ = ("_owner", "_iterator", "_closed")

    def __init__(self, owner: Any) -> None:
        self._owner = owner
        # Drive the SDK object's own __anext__ when it has one: an extra __aiter__ generator
        # would be one more hop per item and one more thing to close.
        self._iterator: AsyncIterator[Any] = owner if hasattr(owner, "__anext__") else aiter(owner)
        self._closed = False

    async def next(self) -> Any:
        try:
            return await self._iterator.__anext__()
        except StopAsyncIteration:
            return _END

    async def aclose(self) -> None:
        if self._closed:
            return
        self._closed = True
        with anyio.CancelScope(shield=True):
            if self._iterator is not self._owner:
                await aclose_quietly(self._iterator)
            # Async generators (ollama, langchain) have aclose(); the SDK streams have an async
            # close() that closes the HTTP response.
            close = getattr(self._owner, "aclose", None) or getattr(self._owner, "close", None)
            if close is not None:
                result = close()
                if inspect.isawaitable(result):
                    await result


class _ManagedReader:
    """A reader whose stream came from an async stream manager, exited after the stream closes."""

    __slots__ = ("_reader", "_exit")

    def __init__(self, reader: _Reader, exit: Callable[[Any, Any, Any], Awaitable[Any]]) -> None:
        self._reader = reader
        self._exit = exit

    async def next(self) -> Any:
        return await self._reader.next()

    async def aclose(self) -> None:
        try:
            await self._reader.aclose()
        finally:
            with anyio.CancelScope(shield=True):
                await self._exit(None, None, None)


class _ThreadReader:
    """A blocking SDK stream read one ``next()`` per worker thread, so the event loop never blocks.

    Closing must not wait for a read in progress (an LLM may be slow to send its next token):
    the SDK stream's ``close()``, which only closes the HTTP response, runs at once from another
    thread and makes the pending read return; the worker, when its read returns, sees the
    reader closed, drops what it read and does the cleanup that must not overlap a read
    (closing a generator, leaving a stream manager).
    """

    __slots__ = ("_iterator", "_close_response", "_exclusive", "_lock", "_busy", "_closed")

    def __init__(self, owner: Any, exit: Callable[[], Any] | None = None) -> None:
        self._iterator: Iterator[Any] = owner if hasattr(owner, "__next__") else iter(owner)
        self._close_response: Callable[[], Any] | None = None
        self._exclusive: list[Callable[[], Any]] = []
        if inspect.isgenerator(self._iterator):
            self._exclusive.append(self._iterator.close)
        if not inspect.isgenerator(owner) and callable(getattr(owner, "close", None)):
            self._close_response = owner.close
        if exit is not None:
            self._exclusive.append(exit)
        self._lock = threading.Lock()
        self._busy = False
        self._closed = False

    async def next(self) -> Any:
        return await anyio.to_thread.run_sync(self._step, abandon_on_cancel=True)

    def _step(self) -> Any:
        # Marked busy here, in the worker, not before starting it: a run cancelled before the
        # worker started must still do the whole cleanup itself.
        with self._lock:
            if self._closed:
                return _END
            self._busy = True
        try:
            item = next(self._iterator, _END)
        except BaseException:
            if self._release():
                raise
            return _END  # the run closed the response under this read: its failure is expected
        return item if self._release() else _END

    def _release(self) -> bool:
        """End a read; True if the run still wants the result, else clean up here."""
        with self._lock:
            self._busy = False
            closed = self._closed
        if closed:
            self._cleanup()
        return not closed

    def _cleanup(self) -> None:
        for close in self._exclusive:
            close()

    async def aclose(self) -> None:
        with self._lock:
            if self._closed:
                return
            self._closed = True
            busy = self._busy
        with anyio.CancelScope(shield=True):
            if self._close_response is not None:
                await anyio.to_thread.run_sync(self._close_response)
            if not busy:
                await anyio.to_thread.run_sync(self._cleanup)


async def _enter_in_thread(manager: Any, adapter: str) -> _Reader:
    """Enter a sync stream manager (it sends the request: blocking) in a worker thread."""

    def exit(_: object = None) -> None:
        manager.__exit__(None, None, None)

    stream = await _call_in_thread(manager.__enter__, exit)
    if not (hasattr(stream, "__next__") or hasattr(stream, "__iter__")):
        await anyio.to_thread.run_sync(exit)
        raise TypeError(f"{adapter}(): entering {describe(manager)} gave {describe(stream)}, which is not a stream")
    return _ThreadReader(stream, exit)
