"""The Redis Streams backend: topics shared by every worker process on one Redis.

Each topic is a Redis stream: ``XADD`` with ``MAXLEN``/``MINID`` trimming keeps a bounded
history, ``XREAD BLOCK`` reads it live (one reader per broker, see ``_redis_hub``), and stream
ids are the event ids. Subscribers also hold short leases in a sorted set, so a producer on
one worker knows whether anyone, on any worker, still reads its topic.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from typing import Any, TypeVar

import anyio

from streamkit._core.closing import describe
from streamkit._core.backend import running_trio
from streamkit._core.validate import check_positive_int, check_seconds
from streamkit.broker import _redis_scripts as scripts
from streamkit.broker._asyncio_thread import AsyncioThread
from streamkit.broker._base import DEFAULT_BATCH, Broker, describe_error, logger
from streamkit.broker._errors import BrokerUnavailable, SubscriberLagged
from streamkit.broker._ids import START_KEY, Key, check_resume, format_id, parse_id
from streamkit.broker._message import DATA, Entry, Message, check_topic
from streamkit.broker._redis_hub import Hub, key_of
from streamkit.broker._serializer import JSONSerializer, Serializer

T = TypeVar("T")

DEFAULT_URL = "redis://127.0.0.1:6379/0"
LEAVE_TIMEOUT = 2.0
"""Seconds a closing subscription spends removing its lease (it expires anyway)."""


def _import_redis() -> Any:
    try:
        import redis.asyncio
        import redis.exceptions
    except ImportError as error:
        raise ModuleNotFoundError(
            "RedisBroker needs the redis package (its asyncio client): pip install 'streamkit[redis]'"
        ) from error
    return redis


class RedisBroker(Broker):
    """Topics on Redis Streams, shared by all workers that use the same Redis (6.2 or newer).

    A client that reconnects to another worker resumes with its ``Last-Event-ID``; a
    broadcast reaches subscribers on every worker. Items are serialized (JSON by default;
    ``serializer=pickle`` or any object with ``dumps``/``loads``).

    Retention: ``max_len`` entries per topic (``approximate=True`` trims with ``MAXLEN ~``,
    Redis's cheap mode, which may keep somewhat more) and/or ``max_age`` seconds (``MINID``).
    A topic nobody publishes to or reads for ``topic_ttl`` seconds expires.

    Live reading costs one connection per broker, however many subscribers: a background
    reader blocks in one ``XREAD`` over every topic read locally and fans the events out, each
    decoded once. ``max_connections`` bounds the pool for everything else (publishing,
    subscribers catching up on history); callers wait for a free connection.

    If Redis goes away, subscribers and publishers retry for ``reconnect_timeout`` seconds,
    then raise :class:`BrokerUnavailable`. Every entry names the one before it, so a Redis
    that lost data (restarted without persistence) gives :class:`SubscriberLagged` once
    it is back, never a silent gap.

    >>> async with RedisBroker("redis://127.0.0.1:6379/0") as broker:      # doctest: +SKIP
    ...     await broker.publish("news", {"title": "hello"})

    Create the broker inside the event loop that uses it (e.g. in an app's lifespan). Under
    trio, redis-py's asyncio client runs on a private asyncio loop in a thread.
    """

    def __init__(
        self,
        url: str = DEFAULT_URL,
        *,
        client: Any = None,
        prefix: str = "streamkit:",
        max_len: int | None = 1000,
        approximate: bool = True,
        max_age: float | None = None,
        topic_ttl: float | None = 3600.0,
        serializer: Serializer | Any = None,
        presence_interval: float = 1.0,
        reconnect_timeout: float = 10.0,
        block: float = 1.0,
        batch: int = DEFAULT_BATCH,
        max_connections: int = 50,
    ) -> None:
        super().__init__(presence_interval=presence_interval, batch=batch)
        redis = _import_redis()
        if max_len is None and max_age is None:
            raise ValueError("RedisBroker needs max_len and/or max_age: a topic's history must be bounded")
        if not isinstance(prefix, str):
            raise TypeError(f"prefix must be a str, got {describe(prefix)}")
        self._serializer = JSONSerializer() if serializer is None else serializer
        if not (callable(getattr(self._serializer, "dumps", None)) and callable(getattr(self._serializer, "loads", None))):
            raise TypeError(f"serializer must have dumps() and loads(), like the json module; got {describe(serializer)}")
        self._lease_ms = round(self._presence_interval * 3000)
        self._max_len = "" if max_len is None else str(check_positive_int("max_len", max_len))
        self._mode = "~" if approximate else "="
        if max_len is not None:
            self._publish_batch = min(self._batch, max(1, max_len // 4))
        self._max_age = "" if max_age is None else str(round(1000 * check_seconds("max_age", max_age, allow_zero=False)))
        if topic_ttl is not None and check_seconds("topic_ttl", topic_ttl) * 1000 <= self._lease_ms:
            raise ValueError(f"topic_ttl must be longer than 3 * presence_interval, got {topic_ttl!r}")
        self._ttl = "" if topic_ttl is None else str(round(topic_ttl * 1000))
        self._reconnect_timeout = check_seconds("reconnect_timeout", reconnect_timeout)
        self._block_ms = round(1000 * check_seconds("block", block, allow_zero=False))
        self._prefix = prefix
        self._response_error: type[Exception] = redis.exceptions.ResponseError
        self._connection_errors: tuple[type[BaseException], ...] = (
            redis.exceptions.ConnectionError,
            redis.exceptions.TimeoutError,
            OSError,
        )
        if client is None:
            from redis.asyncio.retry import Retry
            from redis.backoff import NoBackoff

            # No retries inside redis-py: this class retries itself, with its own deadline. A
            # blocking pool makes a burst of callers wait for a connection instead of failing.
            pool = redis.asyncio.BlockingConnectionPool.from_url(
                url,
                max_connections=check_positive_int("max_connections", max_connections),
                timeout=None,
                retry=Retry(NoBackoff(), 0),
            )
            client = redis.asyncio.Redis.from_pool(pool)
            self._owns_client = True
        else:
            if client.connection_pool.connection_kwargs.get("decode_responses"):
                raise ValueError("RedisBroker needs a client with decode_responses=False (it stores bytes)")
            self._owns_client = False
        self._client = client
        kwargs = client.connection_pool.connection_kwargs
        self._where = kwargs.get("path") or f"{kwargs.get('host', '?')}:{kwargs.get('port', '?')}"
        self._append_script = client.register_script(scripts.APPEND)
        self._join_script = client.register_script(scripts.JOIN)
        self._count_script = client.register_script(scripts.COUNT)
        self._loop: object = None
        self._thread: AsyncioThread | None = None
        self._hub = Hub(self)

    # -- calling redis-py from either backend ----------------------------------------------

    def _bind(self) -> None:
        """Tie the broker to the running event loop: redis-py's connections belong to one."""
        if running_trio():
            import trio

            loop: object = trio.lowlevel.current_trio_token()
        else:
            loop = asyncio.get_running_loop()
        if self._loop is None:
            self._loop = loop
            if running_trio():
                self._thread = AsyncioThread("streamkit-redis")
        elif loop is not self._loop:
            raise RuntimeError(
                "this RedisBroker was first used in another event loop; create one broker per "
                "event loop (for a web app: in its lifespan)"
            )

    async def _call(self, function: Callable[..., Awaitable[T]], *args: Any, **kwargs: Any) -> T:
        if self._thread is None:
            return await function(*args, **kwargs)
        return await self._thread.run(function, *args, **kwargs)

    async def _retrying(self, function: Callable[..., Awaitable[T]], *args: Any, **kwargs: Any) -> T:
        """Call redis, retrying a lost connection for ``reconnect_timeout`` seconds."""
        self._bind()
        failing_since: float | None = None
        delay = 0.02
        while True:
            try:
                return await self._call(function, *args, **kwargs)
            except self._connection_errors as error:
                failing_since = self._still_failing(failing_since, error)
                await anyio.sleep(delay)
                delay = min(2 * delay, 0.5)

    def _still_failing(self, since: float | None, error: BaseException) -> float:
        """When failures began; :class:`BrokerUnavailable` once that is too long ago."""
        self._check_open()
        now = anyio.current_time()
        if since is None:
            since = now
        if now - since >= self._reconnect_timeout:
            raise BrokerUnavailable(
                f"Redis at {self._where} is unreachable (for {self._reconnect_timeout:g} s): {describe_error(error)}"
            ) from error
        return since

    def _stream_key(self, topic: str) -> str:
        # The braces make both keys of a topic hash to one Redis Cluster slot.
        return f"{self._prefix}{{{topic}}}"

    def _presence_key(self, topic: str) -> str:
        return f"{self._prefix}{{{topic}}}:subscribers"

    # -- publishing ------------------------------------------------------------------------

    async def _append(self, topic: str, entries: Sequence[Entry]) -> list[str]:
        # The token makes a retried batch idempotent (see scripts.APPEND).
        args: list[Any] = [self._max_len, self._mode, self._max_age, self._ttl, os.urandom(8)]
        for kind, item in entries:
            args.append(kind)
            args.append(self._dumps(topic, item) if kind == DATA else item)
        ids = await self._retrying(self._append_script, keys=[self._stream_key(topic)], args=args)
        return [raw.decode() for raw in ids]

    def _dumps(self, topic: str, item: Any) -> bytes | str:
        try:
            data: bytes | str = self._serializer.dumps(item)
        except Exception as error:
            raise TypeError(
                f"cannot publish an item of type {type(item).__qualname__} to topic {topic!r}: the serializer failed ({describe_error(error)}); "
                "publish JSON-compatible items or pass serializer= to RedisBroker"
            ) from error
        if not isinstance(data, bytes | str):
            raise TypeError(f"serializer.dumps() must return bytes or str, got {describe(data)}")
        return data

    # -- subscribing -----------------------------------------------------------------------

    async def _history(self, topic: str) -> tuple[Key | None, Key | None, Key | None]:
        """``(oldest id, the id before it, newest id)`` of the topic; all None if it has none."""
        try:
            info = await self._retrying(self._client.xinfo_stream, self._stream_key(topic))
        except self._response_error as error:
            if "no such key" in str(error).lower():
                return None, None, None
            raise
        last = key_of(info["last-generated-id"])
        first_entry = info.get("first-entry")
        if not first_entry:
            return None, None, last
        first_id, fields = first_entry
        return key_of(first_id), key_of(fields.get(b"p", b"0-0")), last

    async def _start_after(self, topic: str, after: Key | None) -> Key:
        first, first_prev, last = await self._history(topic)
        if after is None:
            return last or START_KEY
        check_resume(topic, after, first, first_prev, last)
        if first is not None and after >= first and not await self._has_event(topic, after):
            # A made-up id between two kept events: the topic never had it.
            raise SubscriberLagged(
                f"cannot resume topic {topic!r} after id {format_id(after)}: the topic has no such event",
                topic=topic,
                after=format_id(after),
            )
        return after

    async def _has_event(self, topic: str, key: Key) -> bool:
        text = format_id(key)
        entries = await self._retrying(self._client.xrange, self._stream_key(topic), min=text, max=text, count=1)
        return bool(entries)

    async def check_resume(self, topic: str, after: str) -> None:
        check_topic(topic)
        await self._start_after(topic, parse_id("after", after))

    def _read(self, topic: str, after: Key | None) -> AsyncIterator[Message[Any]]:
        return self._hub.subscribe(topic, after)

    async def _leave(self, topic: str, member: str) -> None:
        if self._closed:
            return  # the lease expires by itself
        with anyio.CancelScope(shield=True), anyio.move_on_after(LEAVE_TIMEOUT):
            try:
                await self._call(self._client.zrem, self._presence_key(topic), member)
            except Exception as error:
                logger.debug("could not remove a subscriber of topic %r (its lease expires): %s", topic, describe_error(error))

    async def subscriber_count(self, topic: str) -> int:
        check_topic(topic)
        self._check_open()
        count: int = await self._retrying(self._count_script, keys=[self._presence_key(topic)])
        return count

    async def retained(self, topic: str) -> int:
        check_topic(topic)
        self._check_open()
        length: int = await self._retrying(self._client.xlen, self._stream_key(topic))
        return length

    # -- housekeeping ----------------------------------------------------------------------

    async def delete(self, topic: str) -> None:
        check_topic(topic)
        self._check_open()
        await self._retrying(self._client.delete, self._stream_key(topic), self._presence_key(topic))

    async def _close_backend(self) -> None:
        try:
            await self._hub.aclose()
            if self._owns_client and self._loop is not None:
                await self._call(self._client.aclose)
        finally:
            if self._thread is not None:
                await self._thread.aclose()


