"""A bounded hand-off between producers (a run's pumps, a Channel's senders) and one consumer.

Unlike a memory stream, *waiting* for an item and *taking* it are separate steps: a consumer
that waits under a deadline (debounce, heartbeat, timeout) and is cancelled never loses an item
that arrived at the same moment, because nothing is taken until ``get_nowait()``. The fast
paths (``offer``/``get_nowait``) never await: one hop costs a deque append and pop.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import AsyncIterable, Awaitable, Callable
from typing import Generic, TypeVar

import anyio

from streamkit._core.backend import Waitable, event_class
from streamkit._core.closing import opened

T = TypeVar("T")

DEFAULT_READ_AHEAD = 1
"""Items a pump may read ahead of its consumer: small, so an LLM stream is not pulled far ahead."""


class ConsumerGone(Exception):
    """Raised to a producer when the consumer has stopped reading."""


class Mailbox(Generic[T]):
    """A bounded FIFO for ``producers`` producers and one consumer.

    The box ends (``get_nowait`` raises ``anyio.EndOfStream``, or the error given to
    :meth:`close`) when every producer has called :meth:`producer_done`, or on ``close()``.
    """

    __slots__ = (
        "_items", "_capacity", "_producers", "_ended", "_error", "_gone", "_poked", "_readable", "_writable", "_new_event",
    )

    def __init__(self, capacity: int = DEFAULT_READ_AHEAD, producers: int = 1) -> None:
        self._items: deque[T] = deque()
        self._capacity = capacity
        self._producers = producers
        self._ended = False
        self._error: BaseException | None = None
        self._gone = False
        self._poked = False
        self._readable: Waitable | None = None
        self._writable: Waitable | None = None
        self._new_event: Callable[[], Waitable] | None = None

    # -- producer side -------------------------------------------------------------------

    @property
    def consumer_gone(self) -> bool:
        """True once the consumer has stopped reading."""
        return self._gone

    @property
    def has_items(self) -> bool:
        """True if an item is waiting to be taken."""
        return bool(self._items)

    @property
    def ready(self) -> bool:
        """True if :meth:`get_nowait` has an item or the end to give (it will not raise WouldBlock)."""
        return bool(self._items) or self._ended

    @property
    def ended(self) -> bool:
        """True once no more items will be put (items already put may still be waiting)."""
        return self._ended

    def offer(self, item: T) -> bool:
        """Put ``item`` if there is room; False if the box is full. Raises ConsumerGone."""
        if self._gone:
            raise ConsumerGone
        if self._ended:
            raise anyio.ClosedResourceError("put() after the mailbox was closed")
        if len(self._items) >= self._capacity:
            return False
        self._items.append(item)
        if self._readable is not None:
            self._readable.set()
            self._readable = None
        return True

    def push_out_oldest(self, item: T) -> bool:
        """Put ``item`` even when full, dropping the oldest waiting item; True if one was dropped."""
        dropped = len(self._items) >= self._capacity
        if dropped:
            self._items.popleft()
        if not self.offer(item):  # pragma: no cover - there is room now
            raise AssertionError("mailbox full after dropping")
        return dropped

    async def put(self, item: T) -> None:
        """Put ``item``, waiting while the box is full. Raises ConsumerGone."""
        while not self.offer(item):
            if self._writable is None:
                self._writable = self._event()
            await self._writable.wait()

    def producer_done(self) -> None:
        """One producer has finished; the box ends when the last one has."""
        self._producers -= 1
        if self._producers <= 0:
            self.close()

    def close(self, error: BaseException | None = None) -> None:
        """End the box: the consumer gets the items already put, then the end (or ``error``)."""
        if self._ended:
            return
        self._ended = True
        self._error = error
        self._wake_reader()
        # A producer blocked on a full box must hear of the close now, not after the next read.
        if self._writable is not None:
            self._writable.set()
            self._writable = None

    # -- consumer side -------------------------------------------------------------------

    def get_nowait(self) -> T:
        """Take the next item; ``anyio.WouldBlock`` if none yet; ``EndOfStream`` at the end."""
        if self._items:
            item = self._items.popleft()
            if self._writable is not None:
                self._writable.set()
                self._writable = None
            return item
        if self._ended:
            if self._error is not None:
                raise self._error
            raise anyio.EndOfStream
        raise anyio.WouldBlock

    def poke(self) -> None:
        """Wake a consumer waiting in :meth:`wait` without giving it an item (a timer says so)."""
        self._poked = True
        self._wake_reader()

    async def wait(self, deadline: float = math.inf) -> bool:
        """Wait until an item or the end is there, or :meth:`poke` is called; False if
        ``deadline`` passed first.

        Takes nothing, so cancelling it (or the deadline passing) loses nothing.
        """
        if self._items or self._ended or self._poked:
            self._poked = False
            return True
        if deadline == math.inf:
            await self._wait_readable()
            return True
        with anyio.CancelScope(deadline=deadline):
            await self._wait_readable()
            return True
        return False

    async def _wait_readable(self) -> None:
        while not (self._items or self._ended or self._poked):
            if self._readable is None:
                self._readable = self._event()
            await self._readable.wait()
        self._poked = False

    # The waits below come before get_nowait(), not in an ``except WouldBlock`` around it:
    # an error raised while waiting (a timeout, Ctrl-C) must not carry WouldBlock as its context.

    async def get(self) -> T:
        """Take the next item, waiting for it; ``EndOfStream`` at the end."""
        if not self.ready:
            await self.wait()
        return self.get_nowait()

    def __aiter__(self) -> Mailbox[T]:
        return self

    async def __anext__(self) -> T:
        if not self.ready:
            await self.wait()
        try:
            return self.get_nowait()
        except anyio.EndOfStream:
            raise StopAsyncIteration from None

    def abandon(self) -> None:
        """The consumer leaves: waiting and later producers get ConsumerGone; items are dropped."""
        self._gone = True
        self._items.clear()
        if self._writable is not None:
            self._writable.set()
            self._writable = None

    def _event(self) -> Waitable:
        # A mailbox lives in one event loop: resolve that backend's event class once.
        if self._new_event is None:
            self._new_event = event_class()
        return self._new_event()

    def _wake_reader(self) -> None:
        if self._readable is not None:
            self._readable.set()
            self._readable = None


async def forward(
    source: AsyncIterable[T], box: Mailbox[T], when_full: Callable[[T], Awaitable[None]] | None = None
) -> None:
    """Pump one run of ``source`` into ``box``; mark this producer done however it ends.

    When the box is full the pump waits for room, or calls ``when_full(item)`` (an overflow
    policy: drop, replace, raise). The source's error ends the box, so the consumer re-raises
    it with its original type and traceback after the items before it. The source is closed
    before the producer is marked done, so a consumer that sees the end knows the upstream
    cleanup has run.
    """
    full = box.put if when_full is None else when_full
    try:
        async with opened(source) as items:
            async for item in items:
                if not box.offer(item):
                    await full(item)
    except ConsumerGone:
        pass
    except Exception as error:
        box.close(error)
    finally:
        box.producer_done()
