"""Push sources: :class:`Channel` and :func:`push`."""

from __future__ import annotations

import math
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import TypeVar

import anyio

from streamkit._core.closing import describe, opened
from streamkit._core.errors import ChannelClosedError, StreamReusedError
from streamkit._core.mailbox import ConsumerGone, Mailbox
from streamkit._core.stream import Stream
from streamkit._core.tasks import Pumps
from streamkit._core.validate import check_positive_int, check_seconds

T = TypeVar("T")

DEFAULT_CHANNEL_BUFFER = 16


class Channel(Stream[T]):
    """A hot push source: code that produces values imperatively sends them into a stream.

    A channel has one consumer, and one run: iterating it a second time raises
    :class:`StreamReusedError`. It is bounded (``max_buffer`` items), so a producer that
    outruns its consumer waits in :meth:`send`. :meth:`close` ends the consumer's loop after
    the items already sent; ``close(error)`` ends it with ``error``.

    >>> ch = Channel[str]()                    # doctest: +SKIP
    >>> async def producer():
    ...     await ch.send("hello")
    ...     await ch.wait(1.0)                 # sleeps; ends early if the consumer left
    ...     ch.close()
    >>> # elsewhere: async for item in ch | map(str.upper): ...

    For a re-runnable push source use :func:`push`.
    """

    __slots__ = ("_box", "_consumed", "_gone")

    def __init__(self, max_buffer: int = DEFAULT_CHANNEL_BUFFER) -> None:
        super().__init__(self._consume)
        self._box: Mailbox[T] = Mailbox(check_positive_int("max_buffer", max_buffer))
        self._consumed = False
        self._gone: anyio.Event | None = None

    @property
    def closed(self) -> bool:
        """True once the channel was closed or its consumer has left: sending would raise."""
        return self._box.ended or self._box.consumer_gone

    async def send(self, item: T) -> None:
        """Send ``item``, waiting while the buffer is full.

        Raises :class:`ChannelClosedError` after :meth:`close` or once the consumer has left.
        """
        try:
            await self._box.put(item)
        except (ConsumerGone, anyio.ClosedResourceError):
            raise ChannelClosedError(self._why_closed()) from None

    def send_nowait(self, item: T) -> bool:
        """Send ``item`` if the buffer has room and return True; False if it is full.

        For callbacks that cannot await. Raises :class:`ChannelClosedError` like :meth:`send`.
        """
        try:
            return self._box.offer(item)
        except (ConsumerGone, anyio.ClosedResourceError):
            raise ChannelClosedError(self._why_closed()) from None

    async def wait(self, seconds: float = math.inf) -> bool:
        """Sleep up to ``seconds``; return early, False, once the channel is closed or abandoned.

        >>> while await ch.wait(1.0):          # doctest: +SKIP
        ...     await ch.send(read_sensor())
        """
        delay = check_seconds("seconds", seconds, allow_inf=True)
        if self.closed:
            return False
        if self._gone is None:
            self._gone = anyio.Event()
        with anyio.move_on_after(delay):
            await self._gone.wait()
        return not self.closed

    def close(self, error: BaseException | None = None) -> None:
        """End the stream after the items already sent; with ``error``, end it by raising that."""
        if error is not None and not isinstance(error, BaseException):
            raise TypeError(f"close(error=...) takes an exception, got {describe(error)}")
        self._box.close(error)
        self._signal_gone()

    def _signal_gone(self) -> None:
        if self._gone is not None:
            self._gone.set()

    def _why_closed(self) -> str:
        return "the channel was closed" if self._box.ended else "the channel's consumer has left"

    def _consume(self) -> AsyncIterator[T]:
        if self._consumed:
            raise StreamReusedError("a Channel has a single consumer and was already iterated; use push() for a re-runnable push source")
        self._consumed = True
        return self._run()

    async def _run(self) -> AsyncIterator[T]:
        box = self._box
        try:
            async for item in box:
                yield item
        finally:
            box.abandon()
            self._signal_gone()


def push(producer: Callable[[Channel[T]], Awaitable[object]], *, max_buffer: int = DEFAULT_CHANNEL_BUFFER) -> Stream[T]:
    """A re-runnable push source: each run calls ``producer`` with a fresh :class:`Channel`.

    The stream ends when ``producer`` returns (or closes the channel), and raises what it
    raises. When the consumer stops, ``producer`` is cancelled and its cleanup runs first.

    >>> async def ticks(ch: Channel[int]) -> None:     # doctest: +SKIP
    ...     for n in range(3):
    ...         await ch.send(n)
    ...         await ch.wait(0.5)
    >>> await push(ticks).list()
    [0, 1, 2]
    """
    if not callable(producer):
        raise TypeError(f"push(producer) takes a function of a Channel, got {describe(producer)}")
    check_positive_int("max_buffer", max_buffer)

    async def run() -> AsyncIterator[T]:
        channel: Channel[T] = Channel(max_buffer)
        pumps = Pumps()

        async def produce() -> None:
            try:
                await producer(channel)
            except ChannelClosedError:
                if not channel._box.consumer_gone:
                    raise
            finally:
                channel.close()

        pumps.start(produce)
        try:
            async with opened(channel) as items:
                async for item in items:
                    yield item
            pumps.raise_error()
        finally:
            await pumps.aclose()

    return Stream(run)
