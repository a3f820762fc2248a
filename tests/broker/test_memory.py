"""The memory backend alone, on the virtual clock: exact timing, ids, topic expiry."""

from __future__ import annotations

import types
from collections.abc import AsyncIterator

import anyio
import pytest

import streamkit as sk
from streamkit.broker import START, MemoryBroker, ProducerCancelled, SubscriberLagged
from streamkit.broker import _ids
from streamkit.broker._ids import IdClock, parse_id


@pytest.fixture
def broker_kind() -> str:
    return "memory"


async def test_keep_alive_is_counted_exactly_from_the_last_subscriber() -> None:
    async with MemoryBroker(presence_interval=1.0) as broker:
        stopped_at: list[float] = []

        async def endless() -> AsyncIterator[int]:
            n = 0
            try:
                while True:
                    await anyio.sleep(0.25)
                    yield n
                    n += 1
            finally:
                stopped_at.append(anyio.current_time())

        start = anyio.current_time()
        producer = broker.start("t", endless(), keep_alive=3.0)
        # Someone reads from t=0 to t=2.5 (checks at 1 and 2 see them; at 3 nobody).
        await (broker.subscribe("t", after=START) | sk.take(10)).list()
        assert anyio.current_time() - start == 2.5
        await producer.wait()
        # Last seen present at the check at t=2; idle for 3 s at the check at t=5.
        assert stopped_at == [start + 5.0]
        with pytest.raises(ProducerCancelled):
            await broker.subscribe("t", after=START).list()


async def test_keep_alive_counts_from_the_start_when_nobody_ever_subscribes() -> None:
    async with MemoryBroker(presence_interval=0.5) as broker:
        start = anyio.current_time()
        producer = broker.start("t", sk.never(), keep_alive=2.0)
        await producer.wait()
        assert anyio.current_time() - start == 2.0
        assert producer.cancelled


async def test_age_retention_is_exact() -> None:
    async with MemoryBroker(max_len=None, max_age=10.0) as broker:
        ids = []
        for n in range(5):
            ids.append(await broker.publish("t", n))
            await anyio.sleep(3.0)
        # Published at 0, 3, 6, 9, 12; the last publish at t=12 trims what is older than t=2.
        assert await broker.retained("t") == 4
        await broker.check_resume("t", ids[0])
        with pytest.raises(SubscriberLagged):
            await broker.check_resume("t", START)


async def test_idle_topics_expire_so_per_request_topics_do_not_pile_up() -> None:
    async with MemoryBroker(topic_ttl=60.0) as broker:
        for n in range(100):
            await broker.publish(f"request-{n}", "done")
        async with broker.subscribe("kept").open() as kept:
            async with anyio.create_task_group() as tg:
                tg.start_soon(anext, kept)
                await anyio.sleep(61.0)
                await broker.publish("new", 1)
                # Untouched for 60 s and unread: gone. Read: kept.
                assert broker.topics == 2
                assert await broker.retained("request-0") == 0
                with pytest.raises(SubscriberLagged, match="no history"):
                    await broker.check_resume("request-0", "1-0")
                tg.cancel_scope.cancel()


async def test_a_fast_publisher_does_not_starve_a_live_subscriber() -> None:
    """publish() lets subscribers run, so a producer that never waits can't push them out."""
    async with MemoryBroker(max_len=10) as broker:
        got: list[int] = []

        async def read() -> None:
            async for message in broker.subscribe("t"):
                got.append(message.data)

        async with anyio.create_task_group() as tg:
            tg.start_soon(read)
            while not await broker.subscriber_count("t"):
                await anyio.sleep(0)
            await broker.publish_stream("t", sk.iterate(range(2_000)))
        assert got == list(range(2_000))


async def test_items_are_delivered_as_they_are_not_copied() -> None:
    async with MemoryBroker() as broker:
        item = {"big": list(range(10))}
        await broker.publish("t", item)
        await broker.end("t")
        [message] = await broker.subscribe("t", after=START).list()
        assert message.data is item


def test_retention_must_be_bounded() -> None:
    with pytest.raises(ValueError, match="max_len and/or max_age"):
        MemoryBroker(max_len=None)
    with pytest.raises(ValueError, match="max_len must be >= 1"):
        MemoryBroker(max_len=0)
    with pytest.raises(ValueError, match="max_age must be > 0 seconds"):
        MemoryBroker(max_age=0)
    with pytest.raises(TypeError, match="presence_interval must be a number"):
        MemoryBroker(presence_interval="1")  # type: ignore[arg-type]


def test_ids_keep_increasing_when_the_wall_clock_steps_back(monkeypatch: pytest.MonkeyPatch) -> None:
    readings = iter([5_000_000_000, 5_000_000_000, 4_000_000_000, 6_000_000_000])
    monkeypatch.setattr(_ids, "time", types.SimpleNamespace(time_ns=lambda: next(readings)))
    clock = IdClock()
    assert [clock.next() for _ in range(4)] == [(5000, 0), (5000, 1), (5000, 2), (6000, 0)]


def test_parse_id() -> None:
    assert parse_id("after", "0") == (0, 0)
    assert parse_id("after", "1700000000000-12") == (1700000000000, 12)
    assert _ids.format_id((1700000000000, 12)) == "1700000000000-12"
    with pytest.raises(ValueError, match="after='١-٠' is not an event id"):
        parse_id("after", "١-٠")  # Arabic-Indic digits: int() would accept them


def test_public_names() -> None:
    import streamkit.broker

    for name in streamkit.broker.__all__:
        assert getattr(streamkit.broker, name) is not None, name
    assert issubclass(streamkit.broker.MemoryBroker, streamkit.broker.Broker)
    assert issubclass(streamkit.broker.RedisBroker, streamkit.broker.Broker)
    assert streamkit.broker.START == "0-0"
