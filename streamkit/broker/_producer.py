"""The handle of a stream published in the background: :meth:`Broker.start`."""

from __future__ import annotations

import math
from collections.abc import Awaitable, Callable
from typing import Any

import anyio

from streamkit._core.stream import Stream
from streamkit._core.tasks import Pumps


class Producer:
    """A stream being published to a topic by a background task of its broker.

    The task is no child of the request that started it, so it survives the client going
    away; it stops at the stream's end, when nobody has subscribed for ``keep_alive``
    seconds, on :meth:`cancel`, or when the broker closes.

    >>> producer = broker.start("answer:42", deltas, keep_alive=30.0)   # doctest: +SKIP
    >>> await producer.wait()
    >>> producer.count, producer.error, producer.cancelled
    (120, None, False)
    """

    __slots__ = ("topic", "keep_alive", "count", "error", "cancelled", "reason", "_source", "_pumps", "_run", "_done")

    def __init__(self, topic: str, source: Stream[Any], keep_alive: float) -> None:
        self.topic = topic
        """The topic published to."""
        self.keep_alive = keep_alive
        """Seconds the producer goes on with nobody subscribed."""
        self.count = 0
        """Items published, once done."""
        self.error: Exception | None = None
        """The stream's error, if it raised (subscribers got :class:`ProducerFailed`)."""
        self.cancelled = False
        """True if it stopped before the stream's end (subscribers got :class:`ProducerCancelled`)."""
        self.reason: str | None = None
        """Why it was cancelled."""
        self._source = source
        self._pumps = Pumps()
        self._run: anyio.CancelScope | None = None
        self._done = anyio.Event()

    def _begin(
        self,
        produce: Callable[[Producer], Awaitable[None]],
        watch: Callable[[Producer], Awaitable[None]],
    ) -> None:
        self._run = self._pumps.start(produce, self)
        if math.isfinite(self.keep_alive):
            self._pumps.start(watch, self)

    @property
    def done(self) -> bool:
        """True once the producer has stopped and its topic's end marker was published."""
        return self._done.is_set()

    async def wait(self) -> None:
        """Wait until the producer has stopped (see :attr:`error` and :attr:`cancelled`)."""
        await self._done.wait()

    def cancel(self, reason: str = "it was cancelled with Producer.cancel()") -> None:
        """Stop publishing; subscribers get :class:`ProducerCancelled` with ``reason``."""
        if self.done:
            return
        if self.reason is None:
            self.reason = reason
        if self._run is not None:
            self._run.cancel()

    def _finished(self) -> None:
        self._done.set()
        self._pumps.cancel()  # the keep-alive watcher

    async def _stop(self) -> None:
        self.cancel("its broker closed")
        await self._pumps.aclose()

    def __repr__(self) -> str:
        state = "running" if not self.done else "cancelled" if self.cancelled else "failed" if self.error else "done"
        return f"<Producer topic={self.topic!r} {state}>"
