"""One reader per worker: every live subscription of a :class:`RedisBroker` is fed from it.

A blocked ``XREAD`` holds its connection, so a reader per subscription would cost one Redis
connection per SSE client and decode every event once per client. Instead each broker runs
one background reader that blocks in a single ``XREAD`` over all topics that have local
subscribers, keeps each topic's newest entries in a small window (a :class:`Feed`), and wakes
the subscribers. A subscriber that is behind that window -- it resumes from an older id, or
is slow -- reads the gap itself with ``XRANGE``, then rejoins the window.

Every entry names the entry before it (field ``p``), and a subscriber only takes an entry
whose ``p`` is the id it read last. Whatever path an entry came by, a gap cannot go unseen: it
sends the subscriber to Redis, where the gap either fills or turns into
:class:`SubscriberLagged`.

A new topic wakes the blocked ``XREAD`` by adding to a small stream of the reader's own that
the ``XREAD`` always includes: unlike ``CLIENT UNBLOCK``, an entry cannot arrive too early
and be lost.
"""

from __future__ import annotations

import bisect
import os
from collections import deque
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

import anyio

from streamkit._core.backend import Changes
from streamkit._core.tasks import Pumps
from streamkit.broker._base import describe_error, logger, marker_error
from streamkit.broker._errors import BrokerClosed, BrokerError, SubscriberLagged
from streamkit.broker._ids import START_KEY, Key, chain_broken, check_resume, format_id
from streamkit.broker._message import DATA, KINDS, Message

if TYPE_CHECKING:
    from streamkit.broker._redis import RedisBroker

WINDOW_BATCHES = 4
"""A feed keeps this many ``XREAD`` batches of its topic's newest entries."""

WAKE_TTL_MS = 60_000


def key_of(raw: bytes) -> Key:
    ms, _, seq = raw.partition(b"-")
    return (int(ms), int(seq))


class Item:
    """One entry of a topic, decoded: an item (``message``), or a marker ending the stream."""

    __slots__ = ("key", "raw", "prev", "message", "kind", "text")

    def __init__(self, raw: bytes, prev: bytes, message: Message[Any] | None, kind: str, text: str) -> None:
        self.key = key_of(raw)
        self.raw = raw
        self.prev = prev
        self.message = message
        self.kind = kind
        self.text = text

    def delivered(self, topic: str) -> Message[Any] | None:
        """What a subscriber gets here: the message, or None at a normal end; raises at a failed one."""
        if self.message is not None:
            return self.message
        error = BrokerError(self.text) if self.kind == "!" else marker_error(topic, self.kind, self.text)
        if error is not None:
            raise error
        return None


class Feed:
    """This worker's window on one topic: its newest entries, shared by the local subscribers.

    Entries are numbered from the feed's creation; ``base`` is the number of the oldest
    kept, so a subscriber holds a number and finds it gone when it is below ``base``.
    """

    __slots__ = ("topic", "stream", "items", "base", "capacity", "tail", "tail_key", "members", "gone_upto", "error", "changes")

    def __init__(self, topic: str, stream: bytes, tail: bytes, capacity: int) -> None:
        self.topic = topic
        self.stream = stream
        self.items: deque[Item] = deque()
        self.base = 0
        self.capacity = capacity
        self.tail = tail
        """The id up to which the reader has read the topic."""
        self.tail_key = key_of(tail)
        self.members: set[str] = set()
        """The presence leases of the local subscriptions."""
        self.gone_upto: Key | None = None
        """Set when the topic's stream was found missing (deleted, expired, Redis restarted):
        the events up to this id had been read, so they existed and are gone."""
        self.error: BrokerError | None = None
        """Set when the reader cannot go on (Redis unreachable, broker closed)."""
        self.changes = Changes()

    @property
    def end(self) -> int:
        return self.base + len(self.items)

    def add(self, items: list[Item]) -> None:
        self.items.extend(items)
        while len(self.items) > self.capacity:
            self.items.popleft()
            self.base += 1
        self.tail = items[-1].raw
        self.tail_key = items[-1].key
        self.changes.notify()

    def locate(self, last_key: Key, last: bytes) -> int | None:
        """The number of the entry right after ``last``, if the window has it."""
        index = bisect.bisect_right(self.items, last_key, key=_item_key)
        if index < len(self.items) and self.items[index].prev == last:
            return self.base + index
        return None

    def fail(self, error: BrokerError) -> None:
        self.error = error
        self.changes.notify()


def _item_key(item: Item) -> Key:
    return item.key


class Hub:
    """The background reader of one :class:`RedisBroker`, started by its first subscription."""

    def __init__(self, broker: RedisBroker) -> None:
        self._broker = broker
        self._feeds: dict[str, Feed] = {}
        self._pumps = Pumps()
        self._started = False
        self._wake_key = f"{broker._prefix}reader:{os.urandom(8).hex()}"
        self._wake_cursor = b"0-0"
        self._wanted: anyio.Event | None = None
        self._window = WINDOW_BATCHES * broker._batch

    # -- subscriptions -------------------------------------------------------------------

    async def subscribe(self, topic: str, after: Key | None) -> AsyncIterator[Message[Any]]:
        """One subscription: the events after ``after`` (None: from now on)."""
        broker = self._broker
        broker._check_open()
        first, first_prev, newest = await broker._history(topic)
        if after is None:
            after = newest or START_KEY
        else:
            check_resume(topic, after, first, first_prev, newest)
        start, tail = format_id(after).encode(), format_id(newest or START_KEY).encode()
        member = os.urandom(8).hex()
        feed, fresh = self._join(topic, tail, member)
        last, last_key = start, key_of(start)
        position: int | None = None
        try:
            await broker._retrying(
                broker._join_script,
                keys=[broker._presence_key(topic), broker._stream_key(topic)],
                args=[broker._lease_ms, broker._ttl, member],
            )
            if fresh:
                await broker._retrying(self._poke)
            while True:
                if feed.error is not None:
                    raise type(feed.error)(*feed.error.args)
                if feed.gone_upto is not None and START_KEY < last_key <= feed.gone_upto:
                    text = last.decode()
                    raise SubscriberLagged(
                        f"topic {topic!r} vanished while subscribed after id {text} (deleted, expired, "
                        "or Redis restarted without its data)",
                        topic=topic,
                        after=text,
                    )
                if position is None or position < feed.base or position > feed.end:
                    position = feed.locate(last_key, last)
                if position is not None:
                    if position == feed.end:
                        await feed.changes.wait()
                        continue
                    item = feed.items[position - feed.base]
                    if item.prev == last:
                        position += 1
                        last, last_key = item.raw, item.key
                        message = item.delivered(topic)
                        if message is None:
                            return
                        yield message
                        continue
                    position = None
                if feed.tail_key <= last_key:
                    await feed.changes.wait()  # caught up: wait for the reader
                    continue
                # The entries after ``last`` are not in the window: read them from Redis.
                entries = await broker._retrying(
                    broker._client.xrange, feed.stream, min=b"(" + last, max=b"+", count=broker._batch
                )
                if not entries:
                    raise chain_broken(topic, last_key, START_KEY)  # what the reader saw is gone
                for raw, fields in entries:
                    item = self._decode(topic, raw, fields)
                    if item.prev != last:
                        raise chain_broken(topic, last_key, key_of(item.prev))
                    last, last_key = item.raw, item.key
                    message = item.delivered(topic)
                    if message is None:
                        return
                    yield message
                position = None
        finally:
            feed.members.discard(member)
            if not feed.members and self._feeds.get(topic) is feed:
                del self._feeds[topic]
            await broker._leave(topic, member)

    def _join(self, topic: str, tail: bytes, member: str) -> tuple[Feed, bool]:
        """The topic's feed, with ``member`` in it; True if the reader must be told of it."""
        feed = self._feeds.get(topic)
        fresh = feed is None
        if feed is None:
            feed = self._feeds[topic] = Feed(topic, self._broker._stream_key(topic).encode(), tail, self._window)
            if self._wanted is not None:
                self._wanted.set()
        feed.members.add(member)
        if not self._started:
            self._started = True
            self._pumps.start(self._read)
            self._pumps.start(self._renew)
        return feed, fresh

    async def _poke(self) -> None:
        """Wake the reader's blocked XREAD, so that it reads the new topic too."""
        async with self._broker._client.pipeline(transaction=False) as pipe:
            pipe.xadd(self._wake_key, {"w": b""}, maxlen=1)
            pipe.pexpire(self._wake_key, WAKE_TTL_MS)
            await pipe.execute()

    def _decode(self, topic: str, raw: bytes, fields: dict[bytes, bytes]) -> Item:
        prev = fields.get(b"p", b"0-0")
        data = fields.get(b"d")
        if data is not None:
            try:
                message = Message(raw.decode(), self._broker._serializer.loads(data))
            except Exception as error:
                return Item(raw, prev, None, "!", f"cannot decode event {raw.decode()} of topic {topic!r}: {describe_error(error)}")
            return Item(raw, prev, message, DATA, "")
        for name, value in fields.items():
            kind = name.decode()
            if kind in KINDS:
                return Item(raw, prev, None, kind, value.decode())
        return Item(raw, prev, None, "!", f"entry {raw.decode()} of topic {topic!r} has no item and no end marker")

    # -- the reader ----------------------------------------------------------------------

    async def _read(self) -> None:
        broker = self._broker
        # Its own connection: a blocked XREAD holds it for up to ``block`` seconds.
        connection = broker._client.client()
        wake = self._wake_key.encode()
        failing_since: float | None = None
        delay = 0.02
        try:
            while True:
                if not self._feeds:
                    self._wanted = anyio.Event()
                    await self._wanted.wait()
                    self._wanted = None
                    continue
                feeds = {feed.stream: feed for feed in self._feeds.values()}
                streams = {wake: self._wake_cursor, **{stream: feed.tail for stream, feed in feeds.items()}}
                try:
                    reply = await broker._call(connection.xread, streams, count=broker._batch, block=broker._block_ms)
                except broker._connection_errors as error:
                    try:
                        failing_since = broker._still_failing(failing_since, error)
                    except BrokerError as gone:
                        self._fail(gone)
                        failing_since = None
                    await anyio.sleep(delay)
                    delay = min(2 * delay, 0.5)
                    continue
                except Exception as error:  # e.g. a key that is not a stream: fail its readers
                    logger.warning("the Redis reader failed: %s", describe_error(error))
                    self._fail(BrokerError(f"reading from Redis failed: {describe_error(error)}"))
                    await anyio.sleep(delay)
                    delay = min(2 * delay, 0.5)
                    continue
                failing_since = None
                delay = 0.02
                for stream, entries in reply.items() if isinstance(reply, dict) else reply:
                    if stream == wake:
                        self._wake_cursor = entries[-1][0]
                        continue
                    feed = feeds[stream]
                    if self._feeds.get(feed.topic) is feed and entries:
                        feed.add([self._decode(feed.topic, raw, fields) for raw, fields in entries])
        finally:
            with anyio.CancelScope(shield=True), anyio.move_on_after(2.0):
                await broker._call(connection.aclose)

    def _fail(self, error: BrokerError) -> None:
        """Every current subscriber gets ``error``; later ones start afresh."""
        for feed in self._feeds.values():
            feed.fail(error)
        self._feeds.clear()

    async def _renew(self) -> None:
        """Renew the leases of all local subscribers, one round trip for all topics."""
        broker = self._broker
        while True:
            await anyio.sleep(broker._presence_interval)
            feeds = [feed for feed in self._feeds.values() if feed.members]
            if not feeds:
                continue
            # Only events read before asking can be known to have existed: a topic found
            # missing may be created a moment later by its first publish.
            read_before = [feed.tail_key for feed in feeds]
            calls = [
                ([broker._presence_key(feed.topic), broker._stream_key(feed.topic)], [broker._lease_ms, broker._ttl, *feed.members])
                for feed in feeds
            ]
            try:
                exists = await broker._call(self._renew_all, calls)
            except Exception as error:  # the reader reports a lost connection
                logger.debug("renewing subscriber leases failed: %s", describe_error(error))
                continue
            for feed, present, tail in zip(feeds, exists, read_before):
                if present:
                    feed.gone_upto = None
                elif tail > START_KEY:
                    feed.gone_upto = tail
                    feed.changes.notify()

    async def _renew_all(self, calls: list[tuple[list[str], list[Any]]]) -> list[int]:
        async with self._broker._client.pipeline(transaction=False) as pipe:
            for keys, args in calls:
                await self._broker._join_script(keys=keys, args=args, client=pipe)
            results: list[int] = await pipe.execute()
        return results

    async def aclose(self) -> None:
        closed = BrokerClosed("the broker closed while the topic was being read")
        for feed in self._feeds.values():
            feed.fail(closed)
        self._feeds.clear()
        await self._pumps.aclose()
        if self._started:
            with anyio.CancelScope(shield=True), anyio.move_on_after(2.0):
                try:
                    await self._broker._call(self._broker._client.delete, self._wake_key)
                except Exception as error:
                    logger.debug("could not delete %s: %s", self._wake_key, describe_error(error))

