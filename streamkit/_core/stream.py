"""The :class:`Stream` type: a cold, re-iterable description of a pipeline."""

from __future__ import annotations

from collections.abc import AsyncIterable, AsyncIterator, Callable
from functools import partial
from types import TracebackType
from typing import Any, Generic, TypeAlias, TypeVar, overload

import anyio

from streamkit._core.closing import aclose_quietly, describe, in_context, opened
from streamkit._core.errors import EmptyStreamError, StreamReusedError
from streamkit._core.fusion import Stage, compose, run_fused
from streamkit._core.marks import Framing

T = TypeVar("T")
U = TypeVar("U")
R = TypeVar("R")
A = TypeVar("A")
T_co = TypeVar("T_co", covariant=True)
T_contra = TypeVar("T_contra", contravariant=True)
U_co = TypeVar("U_co", covariant=True)

_MISSING: Any = object()


class Stream(Generic[T_co], AsyncIterable[T_co]):
    """A cold, re-iterable description of a pipeline of items of type ``T``.

    Nothing runs until the stream is iterated, and every iteration is a fresh run from the
    source. ``stream | step`` returns a new stream; the original is never changed.

    >>> import streamkit as sk
    >>> doubled = sk.iterate([1, 2, 3]) | sk.map(lambda x: x * 2)
    >>> sk.run_sync(doubled.list())   # doctest: +SKIP
    [2, 4, 6]

    To stop early and still close the source before going on, use :meth:`open`.
    """

    __slots__ = ("_open", "_stages", "_framing")

    def __init__(
        self, open: Callable[[], AsyncIterator[T_co]], *, framing: Framing | None = None
    ) -> None:
        if not callable(open):
            raise TypeError(f"Stream(open=...) must be a callable returning an async iterator, got {describe(open)}")
        self._open = open
        self._stages: tuple[Stage, ...] = ()
        self._framing = framing

    @property
    def framing(self) -> Framing | None:
        """What a framing step said about this stream's bytes (media type, keep-alive); or None."""
        return self._framing

    def __aiter__(self) -> AsyncIterator[T_co]:
        if not self._stages:
            return self._open()
        return run_fused(self._open(), compose(self._stages))

    def __or__(self, step: Callable[[Stream[T_co]], R]) -> R:
        if not callable(step):
            raise TypeError(f"a Stream can only be piped into a step such as map(f), not {describe(step)}")
        return step(self)

    def then(self, stage: Stage) -> Stream[Any]:
        """A new stream with one more fused synchronous stage (for operator authors)."""
        fused: Stream[Any] = Stream(self._open)
        fused._stages = (*self._stages, stage)
        return fused

    def framed(self, framing: Framing) -> Stream[T_co]:
        """This stream, marked with what a framing step says about its bytes (for step authors)."""
        marked: Stream[T_co] = Stream(self._open, framing=framing)
        marked._stages = self._stages
        return marked

    def open(self) -> Run[T_co]:
        """Start a run whose cleanup happens when the ``async with`` block exits.

        >>> async with stream.open() as items:   # doctest: +SKIP
        ...     async for item in items:
        ...         if item == "stop":
        ...             break
        ... # the source's ``finally`` has run here

        :meth:`Run.close` ends the run from another task.
        """
        return Run(self)

    async def list(self) -> list[T_co]:
        """Run the stream to its end and return every item."""
        async with opened(self) as items:
            return [item async for item in items]

    async def first(self, default: Any = _MISSING) -> T_co:
        """The first item; the run is closed right after it, reading nothing more.

        Raises :class:`EmptyStreamError` on an empty stream unless ``default`` is given.
        """
        async with opened(self) as items:
            async for item in items:
                return item
        if default is _MISSING:
            raise EmptyStreamError("first(): the stream ended without an item")
        return default  # type: ignore[no-any-return]

    async def last(self, default: Any = _MISSING) -> T_co:
        """The last item. Raises :class:`EmptyStreamError` on an empty stream unless ``default`` is given."""
        result = default
        async with opened(self) as items:
            async for result in items:
                pass
        if result is _MISSING:
            raise EmptyStreamError("last(): the stream ended without an item")
        return result  # type: ignore[no-any-return]

    async def count(self) -> int:
        """Run the stream to its end and return how many items it had."""
        n = 0
        async with opened(self) as items:
            async for _ in items:
                n += 1
        return n

    @overload
    async def reduce(self, function: Callable[[T_co, T_co], T_co]) -> T_co: ...
    @overload
    async def reduce(self, function: Callable[[A, T_co], A], initial: A) -> A: ...
    async def reduce(self, function: Callable[[Any, Any], Any], initial: Any = _MISSING) -> Any:
        """Fold the items with ``function(accumulated, item)``, like :func:`functools.reduce`.

        Without ``initial`` the first item starts the fold, and an empty stream raises
        :class:`EmptyStreamError`.
        """
        accumulated = initial
        async with opened(self) as items:
            if accumulated is _MISSING:
                try:
                    accumulated = await anext(items)
                except StopAsyncIteration:
                    raise EmptyStreamError("reduce(): the stream ended without an item and no initial value was given") from None
            async for item in items:
                accumulated = function(accumulated, item)
        return accumulated

    def __repr__(self) -> str:
        stages = f", {len(self._stages)} fused stage(s)" if self._stages else ""
        return f"<Stream of {describe(self._open)}{stages}>"


class Run(Generic[T_co], AsyncIterator[T_co]):
    """One run of a stream, closed deterministically at the end of an ``async with`` block.

    :meth:`close` may be called from any task: the consumer's loop ends cleanly, after the
    run's cleanup.

    >>> async with interval(1.0) as run:            # doctest: +SKIP
    ...     async for tick in run:
    ...         if tick == 3:
    ...             break                             # the run is closed here, cleanup done
    """

    __slots__ = ("_iterator", "_scope", "_closed")

    def __init__(self, stream: AsyncIterable[T_co]) -> None:
        self._iterator = aiter(stream)
        self._scope: anyio.CancelScope | None = None
        self._closed = False

    async def __aenter__(self) -> Run[T_co]:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

    async def __anext__(self) -> T_co:
        if self._closed:
            # close() came while the consumer was busy: clean up before its loop ends.
            await self.aclose()
            raise StopAsyncIteration
        # Cancelling a pending __anext__ ends the generator: exactly what close() wants here.
        with anyio.CancelScope() as scope:
            self._scope = scope
            try:
                return await self._iterator.__anext__()
            finally:
                self._scope = None
        await self.aclose()
        raise StopAsyncIteration

    def close(self) -> None:
        """End the run from any task; the consumer's loop stops after the run's cleanup."""
        self._closed = True
        if self._scope is not None:
            self._scope.cancel()

    async def aclose(self) -> None:
        """Close the run now, running the source's cleanup before returning."""
        self._closed = True
        await aclose_quietly(self._iterator)


Step: TypeAlias = Callable[[AsyncIterable[T_contra]], Stream[U_co]]
"""An operator with its parameters bound: ``AsyncIterable[T] -> Stream[U]``."""


def as_stream(source: AsyncIterable[T]) -> Stream[T]:
    """``source`` as a Stream; a one-shot async iterator gets a clear error on a second run."""
    if isinstance(source, Stream):
        return source
    if not isinstance(source, AsyncIterable):
        raise TypeError(f"expected an async iterable, got {describe(source)}")
    iterator = aiter(source)
    if iterator is not source:
        # Re-iterable (an aiostream stream, a class with __aiter__): each run asks again.
        first_run: list[AsyncIterator[T]] = [iterator]

        def open_again() -> AsyncIterator[T]:
            return in_context(first_run.pop() if first_run else aiter(source))

        return Stream(open_again)
    return Stream(once(lambda: in_context(iterator), source))


def once(start: Callable[[], AsyncIterator[T]], source: object) -> Callable[[], AsyncIterator[T]]:
    """An opener for a source that can be read once: a second run raises :class:`StreamReusedError`.

    Silently yielding nothing the second time is the bug this prevents.
    """
    used = False

    def open_once() -> AsyncIterator[T]:
        nonlocal used
        if used:
            raise StreamReusedError(
                f"this stream reads from {describe(source)}, which can be iterated only once and "
                "was already consumed; pass a re-iterable, or a function returning a fresh iterator"
            )
        used = True
        return start()

    return open_once


def sync_stage(stage: Stage) -> Callable[[AsyncIterable[Any]], Stream[Any]]:
    """A step that adds ``stage`` to the stream's fused synchronous stages."""

    def apply(source: AsyncIterable[Any]) -> Stream[Any]:
        return as_stream(source).then(stage)

    return apply


def generator_step(
    body: Callable[[AsyncIterable[Any]], AsyncIterator[Any]],
) -> Callable[[AsyncIterable[Any]], Stream[Any]]:
    """A step whose every run is a fresh ``body(source)``: an async generator (for operator authors).

    The body opens the source itself, with ``async with opened(source) as upstream``, so the
    upstream is closed however the run ends and there is no extra generator hop per item.
    """

    def apply(source: AsyncIterable[Any]) -> Stream[Any]:
        return Stream(partial(body, source))

    return apply
