"""The topic API every backend shares. Backends supply storing, reading and presence."""

from __future__ import annotations

import abc
import logging
from collections.abc import AsyncIterable, AsyncIterator, Iterable, Sequence
from contextlib import asynccontextmanager
from functools import partial
from types import TracebackType
from typing import Any

import anyio
from typing_extensions import Self

from streamkit._core.closing import describe, opened
from streamkit._core.stream import Step, Stream, as_stream
from streamkit._core.validate import check_positive_int, check_seconds
from streamkit._ops._pumped import pumped
from streamkit.broker._errors import BrokerClosed, BrokerError, ProducerCancelled, ProducerFailed
from streamkit.broker._ids import Key, parse_id
from streamkit.broker._message import CANCELLED, DATA, END, FAILED, Entry, Message, check_topic
from streamkit.broker._producer import Producer

logger = logging.getLogger("streamkit.broker")

FINISH_TIMEOUT = 5.0
"""Seconds a producer that stops (even cancelled) may take to publish its end marker."""

DEFAULT_BATCH = 64
"""Items of a published stream sent in one round trip when they are ready together."""


def marker_error(topic: str, kind: str, text: str) -> BrokerError | None:
    """What a subscriber raises on reaching a marker; None for a normal end."""
    if kind == FAILED:
        return ProducerFailed(f"the producer of topic {topic!r} failed: {text}")
    if kind == CANCELLED:
        return ProducerCancelled(f"the producer of topic {topic!r} stopped early: {text}")
    return None


def describe_error(error: BaseException) -> str:
    text = str(error)
    return f"{type(error).__name__}: {text}" if text else type(error).__name__


class Broker(abc.ABC):
    """Named topics of events, published by some tasks and read by any number of subscribers.

    Every published item gets an id (``"<ms>-<seq>"``) that only grows within its topic; a
    sink sends it as the SSE ``id:``, so a client that reconnects with ``Last-Event-ID``
    resumes right after the last event it saw, on any worker sharing the broker's store.

    >>> async with MemoryBroker() as broker:                     # doctest: +SKIP
    ...     producer = broker.start("answer:42", llm_deltas(prompt), keep_alive=30)
    ...     async for message in broker.subscribe("answer:42", after=START):
    ...         print(message.id, message.data)

    Topics keep a bounded history (by count and/or age). A subscriber that falls further
    behind than that, or asks to resume after an event no longer kept, gets
    :class:`SubscriberLagged`: never a silent gap.
    """

    def __init__(self, *, presence_interval: float, batch: int) -> None:
        self._presence_interval = check_seconds("presence_interval", presence_interval, allow_zero=False)
        self._batch = check_positive_int("batch", batch)
        self._publish_batch = self._batch
        """Most items appended at once by publish_stream; a backend lowers it to stay well
        below its retention, or a subscriber could not keep up even in principle."""
        self._producers: dict[str, Producer] = {}
        self._closed = False

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

    # -- publishing ------------------------------------------------------------------------

    async def publish(self, topic: str, item: Any) -> str:
        """Publish one item; return its event id.

        >>> await broker.publish("news", {"title": "hello"})      # doctest: +SKIP
        '1700000000000-0'
        """
        check_topic(topic)
        self._check_open()
        return (await self._append(topic, [(DATA, item)]))[0]

    async def publish_many(self, topic: str, items: Iterable[Any]) -> list[str]:
        """Publish several items at once (one round trip on Redis); return their ids in order."""
        check_topic(topic)
        self._check_open()
        entries = [(DATA, item) for item in items]
        return await self._append(topic, entries) if entries else []

    async def end(self, topic: str, error: BaseException | str | None = None) -> str:
        """End the topic's stream: subscribers' loops end, or raise :class:`ProducerFailed`
        carrying ``error``'s type and text. Returns the marker's id."""
        check_topic(topic)
        self._check_open()
        if error is None:
            entry: Entry = (END, "")
        elif isinstance(error, BaseException):
            entry = (FAILED, describe_error(error))
        elif isinstance(error, str):
            entry = (FAILED, error)
        else:
            raise TypeError(f"end(error=...) takes an exception or a str, got {describe(error)}")
        return (await self._append(topic, [entry]))[0]

    async def publish_stream(self, topic: str, stream: AsyncIterable[Any], *, end: bool = True) -> int:
        """Publish every item of one run of ``stream``; return how many were published.

        Items that are ready together go out together (one round trip on Redis). With
        ``end=True`` the topic's stream is then ended, so subscribers finish too; if
        ``stream`` raises, subscribers get :class:`ProducerFailed` and the error is re-raised
        here; if this call is cancelled, they get :class:`ProducerCancelled`.
        """
        check_topic(topic)
        source = as_stream(stream)
        self._check_open()
        async with self._ending(topic, end, cancelled="its publishing task was cancelled"):
            return await self._append_all(topic, source)

    def publishing(self, topic: str, *, end: bool = True) -> Step[Any, Message[Any]]:
        """A step that publishes each item and passes it on as a :class:`Message` with its id.

        >>> await (source | broker.publishing("feed") | take(3)).list()   # doctest: +SKIP

        The topic is ended like in :meth:`publish_stream`; a consumer that stops early ends it
        with :class:`ProducerCancelled` for the subscribers.
        """
        check_topic(topic)

        def step(source: AsyncIterable[Any]) -> Stream[Message[Any]]:
            return Stream(partial(self._publish_each, topic, as_stream(source), end))

        return step

    async def _publish_each(self, topic: str, source: Stream[Any], end: bool) -> AsyncIterator[Message[Any]]:
        self._check_open()
        async with self._ending(topic, end, cancelled="its consumer stopped early"):
            async with opened(source) as items:
                async for item in items:
                    ids = await self._append(topic, [(DATA, item)])
                    yield Message(ids[0], item)

    @asynccontextmanager
    async def _ending(self, topic: str, end: bool, *, cancelled: str) -> AsyncIterator[None]:
        """Publishing to ``topic`` within: then, if ``end``, end it as the publishing went.

        Finished: the end. An error: :class:`ProducerFailed` for the subscribers (and the error
        goes on). Anything else (cancelled, closed early): :class:`ProducerCancelled`, with the
        reason ``cancelled``.
        """
        outcome: Entry = (CANCELLED, cancelled)
        try:
            yield
            outcome = (END, "")
        except Exception as error:
            outcome = (FAILED, describe_error(error))
            raise
        finally:
            if end:
                await self._finish(topic, outcome, quiet=outcome[0] != END)

    async def _append_all(self, topic: str, source: Stream[Any]) -> int:
        """Publish one run of ``source``, in batches of what is ready, read in the background."""
        count = 0
        async with pumped(source, self._publish_batch) as (box, pumps):
            while True:
                batch: list[Entry] = []
                error: Exception | None = None
                ended = False
                try:
                    batch.append((DATA, await box.get()))
                    while len(batch) < self._publish_batch:
                        batch.append((DATA, box.get_nowait()))
                except anyio.WouldBlock:
                    pass
                except anyio.EndOfStream:
                    ended = True
                except Exception as exc:  # the source's own error, after the items before it
                    error = exc
                if batch:
                    await self._append(topic, batch)
                    count += len(batch)
                if error is not None:
                    raise error
                if ended:
                    pumps.raise_error()
                    return count

    async def _finish(self, topic: str, outcome: Entry, *, quiet: bool) -> None:
        """Publish an end marker, even from a cancelled task; ``quiet``: log a failure, don't raise."""
        try:
            with anyio.CancelScope(shield=True) as scope:
                scope.deadline = anyio.current_time() + FINISH_TIMEOUT
                await self._append(topic, [outcome])
            if scope.cancelled_caught:
                raise TimeoutError(f"publishing the end of topic {topic!r} took over {FINISH_TIMEOUT} s")
        except Exception as error:
            if not quiet:
                raise
            logger.warning("could not publish the end of topic %r (%s): %s", topic, outcome[0], describe_error(error))

    # -- subscribing -----------------------------------------------------------------------

    def subscribe(self, topic: str, *, after: str | None = None) -> Stream[Message[Any]]:
        """The topic's events as a stream of :class:`Message`; each run is a new subscription.

        - ``after=None``: only events published from now on;
        - ``after=START`` (``"0-0"``): every event from the topic's first one;
        - ``after=last_event_id``: the events after that one, from the stored history, then
          live, with no gap and no duplicate in between.

        The stream ends at the topic's end marker (:meth:`end`, the end of
        :meth:`publish_stream`), or raises :class:`ProducerFailed` /
        :class:`ProducerCancelled` at a failure marker. It raises :class:`SubscriberLagged`
        when it cannot go on without a gap. A malformed ``after`` is refused here, at once:

        >>> broker.subscribe("chat", after=request.headers.get("last-event-id") or START)  # doctest: +SKIP
        """
        check_topic(topic)
        key = None if after is None else parse_id("after", after)
        return Stream(partial(self._read, topic, key))

    @abc.abstractmethod
    async def check_resume(self, topic: str, after: str) -> None:
        """Raise :class:`SubscriberLagged` if a subscription after ``after`` cannot be complete.

        For an endpoint that would rather answer ``204 No Content`` (which stops a browser's
        ``EventSource`` from reconnecting) than start a stream that fails at once.
        """

    @abc.abstractmethod
    async def subscriber_count(self, topic: str) -> int:
        """How many subscriptions are reading ``topic`` now (on every worker, for Redis)."""

    @abc.abstractmethod
    async def retained(self, topic: str) -> int:
        """How many events (end markers included) ``topic`` keeps now; 0 for an unknown topic."""

    # -- producing in the background -------------------------------------------------------

    def start(self, topic: str, stream: AsyncIterable[Any], *, keep_alive: float = 30.0) -> Producer:
        """Publish ``stream`` to ``topic`` from a background task that outlives the caller.

        The producer (e.g. an LLM call) keeps going when the client that started it goes
        away, so the client can reconnect, on any worker, and read the rest. Once nobody has
        subscribed to the topic for ``keep_alive`` seconds (checked every
        ``presence_interval``, counted from the start), it is cancelled and the topic ends with
        :class:`ProducerCancelled`. ``keep_alive=0``: stop as soon as nobody reads;
        ``keep_alive=math.inf``: always run to the end.

        >>> broker.start(topic, answer(prompt), keep_alive=30.0)             # doctest: +SKIP
        >>> return sse_response(broker.subscribe(topic, after=last_id or START))
        """
        check_topic(topic)
        source = as_stream(stream)
        keep_alive = check_seconds("keep_alive", keep_alive, allow_inf=True)
        self._check_open()
        running = self._producers.get(topic)
        if running is not None and not running.done:
            raise ValueError(f"a producer is already publishing to topic {topic!r} in this broker")
        producer = Producer(topic, source, keep_alive)
        self._producers[topic] = producer
        producer._begin(self._produce, self._watch)
        return producer

    def producer(self, topic: str) -> Producer | None:
        """The producer this broker runs for ``topic``, if any is still running."""
        running = self._producers.get(topic)
        return running if running is not None and not running.done else None

    async def _produce(self, producer: Producer) -> None:
        topic = producer.topic
        outcome: Entry = (CANCELLED, "it was cancelled")
        try:
            producer.count = await self._append_all(topic, producer._source)
            outcome = (END, "")
        except Exception as error:
            producer.error = error
            outcome = (FAILED, describe_error(error))
        finally:
            if outcome[0] == CANCELLED:
                producer.cancelled = True
                outcome = (CANCELLED, producer.reason or outcome[1])
            await self._finish(topic, outcome, quiet=True)
            if self._producers.get(topic) is producer:
                del self._producers[topic]
            producer._finished()

    async def _watch(self, producer: Producer) -> None:
        """Cancel ``producer`` once nobody has subscribed to its topic for its ``keep_alive``."""
        idle_since = anyio.current_time()
        while True:
            await anyio.sleep(self._presence_interval)
            try:
                present = await self.subscriber_count(producer.topic)
            except Exception as error:  # cannot tell: keep producing rather than lose the rest
                logger.warning("cannot count subscribers of topic %r: %s", producer.topic, describe_error(error))
                continue
            now = anyio.current_time()
            if present:
                idle_since = now
            elif now - idle_since >= producer.keep_alive:
                producer.cancel(f"nobody subscribed to it for {producer.keep_alive:g} s")
                return

    # -- housekeeping ----------------------------------------------------------------------

    @abc.abstractmethod
    async def delete(self, topic: str) -> None:
        """Drop the topic and its history; its subscribers get :class:`SubscriberLagged`."""

    @property
    def closed(self) -> bool:
        """True once :meth:`aclose` was called."""
        return self._closed

    async def aclose(self) -> None:
        """Stop the producers (their topics end with :class:`ProducerCancelled`), end the
        subscriptions with :class:`BrokerClosed`, and release the backend."""
        if self._closed:
            return
        for producer in list(self._producers.values()):
            producer.cancel("its broker closed")
        for producer in list(self._producers.values()):
            await producer._stop()
        self._closed = True
        await self._close_backend()

    def _check_open(self) -> None:
        if self._closed:
            raise BrokerClosed(f"{type(self).__name__} is closed")

    # -- backend hooks ---------------------------------------------------------------------

    @abc.abstractmethod
    async def _append(self, topic: str, entries: Sequence[Entry]) -> list[str]:
        """Store ``entries`` at the end of ``topic``, atomically; return their ids."""

    @abc.abstractmethod
    def _read(self, topic: str, after: Key | None) -> AsyncIterator[Message[Any]]:
        """One subscription run (an async generator)."""

    @abc.abstractmethod
    async def _close_backend(self) -> None:
        """End subscriptions with :class:`BrokerClosed` and release connections."""

