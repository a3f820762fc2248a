"""The Redis backend alone: several workers on one Redis, restarts, outages, serialization.

Restart and outage tests run their own ``redis-server`` on a free port; the shared one on
6379 is never stopped.
"""

from __future__ import annotations

import datetime
import json
import math
import pickle
import sys
from collections.abc import AsyncIterator, Callable
from typing import Any

import anyio
import pytest

import streamkit as sk
from streamkit.broker import (
    START,
    Broker,
    BrokerUnavailable,
    Message,
    ProducerCancelled,
    RedisBroker,
    SubscriberLagged,
)

from .conftest import REDIS_URL, PrivateRedis, require_redis, wait_for_subscribers, wait_until


@pytest.fixture
def broker_kind() -> str:
    return "redis"


PRIVATE_OPTIONS: dict[str, Any] = {"presence_interval": 0.1, "block": 0.2, "approximate": False}


async def endless(pause: float = 0.01) -> AsyncIterator[int]:
    n = 0
    while True:
        yield n
        n += 1
        await anyio.sleep(pause)


# -- several workers ----------------------------------------------------------------------


async def test_a_client_resumes_on_another_worker_exactly_once_and_in_order(make_broker: Callable[..., Broker]) -> None:
    worker_a, worker_b = make_broker(), make_broker()

    async def answer() -> AsyncIterator[str]:
        for n in range(40):
            await anyio.sleep(0.005)
            yield f"token {n}"

    producer = worker_a.start("answer", answer(), keep_alive=10)
    first_half = await (worker_a.subscribe("answer", after=START) | sk.take(20)).list()
    # The client reconnects through the load balancer and lands on worker B.
    rest = await worker_b.subscribe("answer", after=first_half[-1].id).list()
    assert [m.data for m in first_half + rest] == [f"token {n}" for n in range(40)]
    await producer.wait()


async def test_keep_alive_sees_subscribers_on_every_worker(make_broker: Callable[..., Broker]) -> None:
    worker_a, worker_b = make_broker(), make_broker()
    got: list[int] = []

    async def read_on_b() -> None:
        async for message in worker_b.subscribe("answer", after=START):
            got.append(message.data)

    async with anyio.create_task_group() as tg:
        tg.start_soon(read_on_b)
        await wait_for_subscribers(worker_a, "answer", 1)
        producer = worker_a.start("answer", endless(0.02), keep_alive=0.2)
        # Three times keep_alive: A's producer must see B's subscriber to keep going.
        await anyio.sleep(0.6)
        assert not producer.done and got
        tg.cancel_scope.cancel()
    with anyio.fail_after(5):
        await producer.wait()
    assert producer.cancelled


async def test_a_dead_workers_subscriptions_expire(make_broker: Callable[..., Broker]) -> None:
    worker_a, worker_b = make_broker(), make_broker()
    async with anyio.create_task_group() as tg:
        tg.start_soon(worker_a.subscribe("room").list)
        await wait_for_subscribers(worker_b, "room", 1)
        tg.cancel_scope.cancel()
    await wait_until(lambda: _none(worker_b, "room"))
    # A worker that vanishes without saying goodbye: its lease runs out by itself.
    async with anyio.create_task_group() as tg:
        tg.start_soon(worker_a.subscribe("room").list)
        await wait_for_subscribers(worker_b, "room", 1)
        worker_a._closed = True  # from now on it neither renews nor removes its lease
        tg.cancel_scope.cancel()
    assert await worker_b.subscriber_count("room") == 1
    await wait_until(lambda: _none(worker_b, "room"), timeout=2.0)
    worker_a._closed = False


async def _none(broker: Broker, topic: str) -> bool:
    return await broker.subscriber_count(topic) == 0


async def test_many_subscribers_share_one_reading_connection(make_broker: Callable[..., Broker]) -> None:
    """Live reading costs one connection per broker: 150 subscribers work with a pool of 4."""
    broker = make_broker(max_connections=4)
    topics = [f"room-{n}" for n in range(30)]
    inboxes: dict[tuple[str, int], list[int]] = {}

    async def read(topic: str, index: int) -> None:
        inbox = inboxes[(topic, index)] = []
        async for message in broker.subscribe(topic, after=START) | sk.take(3):
            inbox.append(message.data)

    with anyio.fail_after(20):
        async with anyio.create_task_group() as tg:
            for topic in topics:
                for index in range(5):
                    tg.start_soon(read, topic, index)
            for topic in topics:
                await wait_for_subscribers(broker, topic, 5)
            for n in range(3):
                for topic in topics:
                    await broker.publish(topic, n)
    assert len(inboxes) == 150
    assert all(inbox == [0, 1, 2] for inbox in inboxes.values())


# -- Redis restarted or gone ---------------------------------------------------------------


async def test_redis_restarted_without_its_data_is_a_clear_error(private_redis_factory: Callable[..., PrivateRedis]) -> None:
    server = private_redis_factory(persistent=False)
    async with RedisBroker(server.url, **PRIVATE_OPTIONS) as broker:
        producer = broker.start("answer", endless(), keep_alive=math.inf)
        got: list[Message[int]] = []
        with pytest.raises(SubscriberLagged, match="no history|reset|vanished") as caught:
            with anyio.fail_after(10):
                async for message in broker.subscribe("answer", after=START):
                    got.append(message)
                    if len(got) == 5:
                        await anyio.to_thread.run_sync(server.restart)
        assert [m.data for m in got] == list(range(len(got)))
        print(f"\nsubscriber: {caught.value}")
        # The producer reconnected and goes on in a new stream: resuming across the loss fails.
        await wait_until(lambda: _retained(broker, "answer"))
        with pytest.raises(SubscriberLagged):
            await broker.subscribe("answer", after=got[-1].id).list()
        assert not producer.done
        producer.cancel()
        await producer.wait()


async def _retained(broker: Broker, topic: str) -> bool:
    return await broker.retained(topic) > 0


async def test_redis_restarted_with_its_data_resumes_without_loss(private_redis_factory: Callable[..., PrivateRedis]) -> None:
    server = private_redis_factory(persistent=True)
    async with RedisBroker(server.url, **PRIVATE_OPTIONS) as broker:
        total = 60

        async def publish() -> None:
            for n in range(total):
                await broker.publish("feed", n)
                if n == 20:
                    await anyio.to_thread.run_sync(server.restart)
                await anyio.sleep(0.005)

        with anyio.fail_after(20):
            async with anyio.create_task_group() as tg:
                tg.start_soon(publish)
                got = await (broker.subscribe("feed", after=START) | sk.take(total)).list()
        assert [m.data for m in got] == list(range(total))
        assert len({m.id for m in got}) == total


async def test_redis_gone_for_good_raises_broker_unavailable(private_redis_factory: Callable[..., PrivateRedis]) -> None:
    server = private_redis_factory()
    async with RedisBroker(server.url, **{**PRIVATE_OPTIONS, "reconnect_timeout": 0.5}) as broker:
        await broker.publish("t", 1)
        errors: list[BaseException] = []

        async def read() -> None:
            try:
                await broker.subscribe("t").list()
            except Exception as error:
                errors.append(error)

        with anyio.fail_after(10):
            async with anyio.create_task_group() as tg:
                tg.start_soon(read)
                await wait_for_subscribers(broker, "t", 1)
                await anyio.to_thread.run_sync(server.stop)
        assert len(errors) == 1 and isinstance(errors[0], BrokerUnavailable)
        assert f"127.0.0.1:{server.port} is unreachable" in str(errors[0])
        with pytest.raises(BrokerUnavailable, match="unreachable"):
            await broker.publish("t", 2)


async def test_a_producer_whose_redis_is_gone_ends_and_says_why(private_redis_factory: Callable[..., PrivateRedis]) -> None:
    server = private_redis_factory()
    async with RedisBroker(server.url, **{**PRIVATE_OPTIONS, "reconnect_timeout": 0.3}) as broker:
        producer = broker.start("answer", endless(), keep_alive=math.inf)
        await wait_until(lambda: _retained(broker, "answer"))
        await anyio.to_thread.run_sync(server.stop)
        with anyio.fail_after(10):
            await producer.wait()
        assert isinstance(producer.error, BrokerUnavailable)


# -- storage details -----------------------------------------------------------------------


async def test_approximate_trimming_keeps_at_least_max_len(make_broker: Callable[..., Broker]) -> None:
    broker = make_broker(max_len=10, approximate=True)
    for start in range(0, 1000, 100):
        await broker.publish_many("t", range(start, start + 100))
    retained = await broker.retained("t")
    print(f"\nMAXLEN ~ 10 kept {retained} of 1000 entries")
    assert 10 <= retained < 1000


async def test_a_retried_batch_is_stored_once(broker: Broker) -> None:
    """A batch whose reply was lost is sent again with the same token: stored once."""
    assert isinstance(broker, RedisBroker)
    broker._bind()
    key = broker._stream_key("t")
    args = ["", "=", "", "", b"same-token", "d", b"1", "d", b"2"]
    first = await broker._call(broker._append_script, keys=[key], args=args)
    again = await broker._call(broker._append_script, keys=[key], args=args)
    assert first == again and len(first) == 2
    assert await broker.retained("t") == 2
    assert [m.data for m in await (broker.subscribe("t", after=START) | sk.take(2)).list()] == [1, 2]


@pytest.mark.parametrize("serializer", [pickle, json], ids=["pickle", "json-module"])
async def test_a_pluggable_serializer(make_broker: Callable[..., Broker], serializer: Any) -> None:
    broker = make_broker(serializer=serializer)
    item: Any = {"when": datetime.date(2024, 1, 2), "tags": {"a"}} if serializer is pickle else {"text": "héllo"}
    await broker.publish("t", item)
    [message] = await (broker.subscribe("t", after=START) | sk.take(1)).list()
    assert message.data == item


async def test_items_json_cannot_hold_are_refused_clearly(broker: Broker) -> None:
    with pytest.raises(TypeError, match="cannot publish an item of type object to topic 't'.*serializer="):
        await broker.publish("t", object())
    assert await broker.retained("t") == 0


def test_a_missing_redis_package_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("redis", "redis.asyncio", "redis.exceptions"):
        monkeypatch.setitem(sys.modules, name, None)
    with pytest.raises(ModuleNotFoundError, match=r"pip install 'streamkit\[redis\]'"):
        RedisBroker()


def test_bad_options_are_refused() -> None:
    import redis.asyncio

    with pytest.raises(ValueError, match="decode_responses=False"):
        RedisBroker(client=redis.asyncio.Redis(decode_responses=True))
    with pytest.raises(ValueError, match="max_len and/or max_age"):
        RedisBroker(max_len=None)
    with pytest.raises(TypeError, match="serializer must have dumps"):
        RedisBroker(serializer=str)
    with pytest.raises(ValueError, match="topic_ttl must be longer"):
        RedisBroker(topic_ttl=1.0, presence_interval=1.0)


def test_a_broker_belongs_to_one_event_loop(redis_prefix: str) -> None:
    require_redis()
    broker = RedisBroker(REDIS_URL, prefix=redis_prefix)

    async def first() -> None:
        await broker.publish("t", 1)
        await broker._client.aclose()

    anyio.run(first)
    with pytest.raises(RuntimeError, match="first used in another event loop"):
        anyio.run(broker.publish, "t", 2)


async def test_cancelled_producer_is_seen_by_other_workers(make_broker: Callable[..., Broker]) -> None:
    worker_a, worker_b = make_broker(), make_broker()
    producer = worker_a.start("answer", endless(), keep_alive=math.inf)
    await wait_until(lambda: _retained(worker_a, "answer"))
    await worker_a.aclose()
    assert producer.cancelled
    with pytest.raises(ProducerCancelled, match="its broker closed"):
        await worker_b.subscribe("answer", after=START).list()
