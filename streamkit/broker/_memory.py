"""The in-process backend: topics in memory, for one process (the default)."""

from __future__ import annotations

import bisect
from collections import OrderedDict, deque
from collections.abc import AsyncIterator, Sequence
from typing import Any

import anyio

from streamkit._core.backend import Changes
from streamkit._core.closing import opened
from streamkit._core.stream import Stream
from streamkit._core.validate import check_positive_int, check_seconds
from streamkit.broker._base import DEFAULT_BATCH, Broker, marker_error
from streamkit.broker._errors import BrokerClosed, BrokerError, SubscriberLagged
from streamkit.broker._ids import START_KEY, IdClock, Key, chain_broken, check_resume, format_id, parse_id
from streamkit.broker._message import DATA, Entry, Message, check_topic


class _Event:
    """One stored event."""

    __slots__ = ("key", "id", "kind", "data", "time")

    def __init__(self, key: Key, kind: str, data: Any, time: float) -> None:
        self.key = key
        self.id = format_id(key)
        self.kind = kind
        self.data = data
        self.time = time


class _Topic:
    """A topic's bounded history and the subscribers waiting on it.

    Events are numbered by position since the topic was created: ``base`` is the number of
    the oldest kept one, so a subscriber holds just a number and finds it trimmed when it
    is below ``base``.
    """

    __slots__ = ("events", "base", "floor", "subscribers", "touched", "gone", "changes")

    def __init__(self, now: float) -> None:
        self.events: deque[_Event] = deque()
        self.base = 0
        self.floor: Key = START_KEY
        """The id before the oldest kept event (``0-0`` while nothing was trimmed)."""
        self.subscribers = 0
        self.touched = now
        self.gone: str | None = None
        """Why the topic is gone (deleted, broker closed): its subscribers raise an error."""
        self.changes = Changes()

    @property
    def end(self) -> int:
        """The number the next published event will get."""
        return self.base + len(self.events)

    @property
    def last(self) -> Key | None:
        if self.events:
            return self.events[-1].key
        return None if self.floor == START_KEY else self.floor

    def trim_oldest(self) -> None:
        self.floor = self.events.popleft().key
        self.base += 1

    def position_after(self, topic: str, after: Key) -> int:
        """The number of the first event after ``after``, or :class:`SubscriberLagged`."""
        first = self.events[0].key if self.events else None
        check_resume(topic, after, first, None if first is None else self.floor, self.last)
        if first is None or after < first:
            return self.base  # ``after`` is the predecessor of the oldest kept event
        index = bisect.bisect_left(self.events, after, key=lambda event: event.key)
        if index == len(self.events) or self.events[index].key != after:
            # ``after`` lies between two kept events: not an id of this topic.
            raise chain_broken(topic, after, self.events[index - 1].key)
        return self.base + index + 1

    def gone_error(self, name: str, last: Key) -> BrokerError:
        if self.gone == "closed":
            return BrokerClosed(f"the broker closed while topic {name!r} was being read")
        return SubscriberLagged(
            f"topic {name!r} was deleted while subscribed, after id {format_id(last)}", topic=name, after=format_id(last)
        )


class MemoryBroker(Broker):
    """Topics held in this process: fan-out and resume for a single worker.

    Retention is bounded by count (``max_len`` events per topic) and/or age (``max_age``
    seconds, checked when publishing); a topic nobody reads or publishes to for
    ``topic_ttl`` seconds is dropped, so per-request topics don't pile up. Items are kept as
    they are (not copied or serialized): don't mutate an item after publishing it.

    >>> async with MemoryBroker(max_len=1000) as broker:          # doctest: +SKIP
    ...     await broker.publish("news", {"title": "hello"})

    Several worker processes need a shared store: use :class:`RedisBroker`.
    """

    def __init__(
        self,
        *,
        max_len: int | None = 1000,
        max_age: float | None = None,
        topic_ttl: float | None = 3600.0,
        presence_interval: float = 1.0,
    ) -> None:
        super().__init__(presence_interval=presence_interval, batch=DEFAULT_BATCH)
        if max_len is None and max_age is None:
            raise ValueError("MemoryBroker needs max_len and/or max_age: a topic's history must be bounded")
        self._max_len = None if max_len is None else check_positive_int("max_len", max_len)
        self._max_age = None if max_age is None else check_seconds("max_age", max_age, allow_zero=False)
        self._ttl = None if topic_ttl is None else check_seconds("topic_ttl", topic_ttl, allow_zero=False)
        # Least recently touched first, so expired topics are found at the front.
        self._topics: OrderedDict[str, _Topic] = OrderedDict()
        self._clock = IdClock()
        # Let subscribers run at least this often: at most half the retention gets published
        # between two of their turns, so a publisher that never waits cannot push them out.
        self._yield_every = max(1, min(DEFAULT_BATCH, (max_len or 2 * DEFAULT_BATCH) // 2))
        self._unyielded = 0

    def _topic(self, name: str, now: float) -> _Topic:
        topic = self._topics.get(name)
        if topic is None:
            topic = self._topics[name] = _Topic(now)
        else:
            topic.touched = now
            self._topics.move_to_end(name)
        return topic

    def _sweep(self, now: float) -> None:
        """Drop topics untouched for ``topic_ttl`` that nobody reads (amortized O(1) per topic)."""
        if self._ttl is None:
            return
        for _ in range(len(self._topics)):
            name, topic = next(iter(self._topics.items()))
            if now - topic.touched < self._ttl:
                return
            if topic.subscribers or self.producer(name) is not None:
                self._topic(name, now)  # in use: counts as touched
            else:
                del self._topics[name]

    async def _append(self, topic: str, entries: Sequence[Entry]) -> list[str]:
        now = anyio.current_time()
        self._sweep(now)
        target = self._topic(topic, now)
        ids = []
        for kind, data in entries:
            event = _Event(self._clock.next(), kind, data, now)
            target.events.append(event)
            ids.append(event.id)
        if self._max_len is not None:
            while len(target.events) > self._max_len:
                target.trim_oldest()
        if self._max_age is not None:
            # max_age > 0, so the events just published stay.
            cutoff = now - self._max_age
            while target.events[0].time < cutoff:
                target.trim_oldest()
        target.changes.notify()
        self._unyielded += len(entries)
        if self._unyielded >= self._yield_every:
            self._unyielded = 0
            await anyio.lowlevel.checkpoint()
        return ids

    async def _append_all(self, topic: str, source: Stream[Any]) -> int:
        # One at a time: nothing is gained by batching in memory, and each publish lets
        # subscribers run, so they keep up with a source that never waits.
        count = 0
        async with opened(source) as items:
            async for item in items:
                await self._append(topic, [(DATA, item)])
                count += 1
        return count

    async def _read(self, topic: str, after: Key | None) -> AsyncIterator[Message[Any]]:
        self._check_open()
        now = anyio.current_time()
        self._sweep(now)
        existing = self._topics.get(topic)
        if after is None:
            state = self._topic(topic, now)
            position = state.end
            last = state.last or START_KEY
        else:
            if existing is None:
                check_resume(topic, after, None, None, None)
            state = existing or self._topic(topic, now)
            position = state.position_after(topic, after)
            last = after
        state.subscribers += 1
        try:
            while True:
                if state.gone is not None:
                    raise state.gone_error(topic, last)
                index = position - state.base
                if index < 0:
                    raise chain_broken(topic, last, state.floor)
                if index == len(state.events):
                    await state.changes.wait()
                    continue
                event = state.events[index]
                position += 1
                last = event.key
                if event.kind == DATA:
                    yield Message(event.id, event.data)
                    continue
                error = marker_error(topic, event.kind, event.data)
                if error is not None:
                    raise error
                return
        finally:
            state.subscribers -= 1
            if self._topics.get(topic) is state:
                self._topic(topic, anyio.current_time())

    async def check_resume(self, topic: str, after: str) -> None:
        check_topic(topic)
        key = parse_id("after", after)
        existing = self._topics.get(topic)
        if existing is None:
            check_resume(topic, key, None, None, None)
        else:
            existing.position_after(topic, key)

    async def subscriber_count(self, topic: str) -> int:
        check_topic(topic)
        existing = self._topics.get(topic)
        return 0 if existing is None else existing.subscribers

    async def delete(self, topic: str) -> None:
        check_topic(topic)
        existing = self._topics.pop(topic, None)
        if existing is not None:
            existing.gone = "deleted"
            existing.changes.notify()

    async def retained(self, topic: str) -> int:
        check_topic(topic)
        existing = self._topics.get(topic)
        return 0 if existing is None else len(existing.events)

    @property
    def topics(self) -> int:
        """How many topics are held now."""
        return len(self._topics)

    async def _close_backend(self) -> None:
        for topic in self._topics.values():
            topic.gone = "closed"
            topic.changes.notify()
        self._topics.clear()
