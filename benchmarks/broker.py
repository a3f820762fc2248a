"""Broker throughput: events/s published and delivered to 1, 10 and 100 subscribers.

Compares :class:`~streamkit.broker.MemoryBroker`, :class:`~streamkit.broker.RedisBroker`
and, as the baseline for Redis, raw ``XADD``/``XREAD`` with the same redis-py asyncio client
on the same server, doing the same JSON work per event: one publisher (raw: pipelined
``XADD`` in batches the size of the broker's) and one blocking ``XREAD`` loop per
subscriber. Every subscriber is a task in this process; "delivered" counts every event that
reached every subscriber. RedisBroker reads with one ``XREAD`` per worker whatever the
number of subscribers, so with several subscribers it can beat the per-subscriber baseline.
A second table times one ``publish()`` per round trip against one ``XADD``.

Run: ``python -m benchmarks.broker [redis-url]`` (default redis://127.0.0.1:6379/0). Bounded:
a few thousand events per case, each case under a 30 s deadline; keys are deleted after.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import anyio

import streamkit as sk
from streamkit.broker import Broker, MemoryBroker, RedisBroker
from streamkit.broker._base import DEFAULT_BATCH

SUBSCRIBERS = (1, 10, 100)
DELIVERIES = 40_000
"""Events x subscribers per case: enough to time, few enough to stay under a minute."""
CASE_DEADLINE = 30.0
PAYLOAD = {"type": "delta", "text": "Hello, world"}


def events_for(subscribers: int) -> int:
    return max(500, DELIVERIES // subscribers)


class Timing:
    def __init__(self, events: int, subscribers: int, published: float, delivered: float) -> None:
        self.events = events
        self.subscribers = subscribers
        self.publish_rate = events / published
        self.delivery_rate = events * subscribers / delivered


async def wait_for_count(count: Callable[[], Awaitable[int]], target: int) -> None:
    while await count() < target:
        await anyio.sleep(0.005)


async def run_broker(broker: Broker, subscribers: int, events: int) -> Timing:
    topic = f"bench:{uuid.uuid4().hex}"
    received = [0] * subscribers
    items = [dict(PAYLOAD, n=n) for n in range(events)]

    async def subscriber(index: int) -> None:
        async for _ in broker.subscribe(topic):
            received[index] += 1

    with anyio.fail_after(CASE_DEADLINE):
        async with anyio.create_task_group() as tg:
            for index in range(subscribers):
                tg.start_soon(subscriber, index)
            await wait_for_count(lambda: broker.subscriber_count(topic), subscribers)
            start = time.perf_counter()
            await broker.publish_stream(topic, sk.iterate(items))
            published = time.perf_counter() - start
        delivered = time.perf_counter() - start
    assert received == [events] * subscribers, received
    await broker.delete(topic)
    return Timing(events, subscribers, published, delivered)


async def run_raw(client: Any, subscribers: int, events: int, max_len: int) -> Timing:
    """The same job with plain XADD/XREAD: the limit of what a Redis broker can do here."""
    key = f"bench:raw:{uuid.uuid4().hex}"
    received = [0] * subscribers
    items = [dict(PAYLOAD, n=n) for n in range(events)]

    async def subscriber(index: int) -> None:
        last = b"0-0"
        while received[index] < events:
            for _, entries in await client.xread({key: last}, count=DEFAULT_BATCH, block=1000):
                for entry_id, fields in entries:
                    json.loads(fields[b"d"])
                    received[index] += 1
                    last = entry_id

    with anyio.fail_after(CASE_DEADLINE):
        async with anyio.create_task_group() as tg:
            for index in range(subscribers):
                tg.start_soon(subscriber, index)
            await anyio.sleep(0.05)  # let every reader block in XREAD
            start = time.perf_counter()
            for offset in range(0, events, DEFAULT_BATCH):
                pipe = client.pipeline(transaction=False)
                for item in items[offset : offset + DEFAULT_BATCH]:
                    pipe.xadd(key, {"d": json.dumps(item, separators=(",", ":"))}, maxlen=max_len, approximate=True)
                await pipe.execute()
            published = time.perf_counter() - start
        delivered = time.perf_counter() - start
    await client.delete(key)
    return Timing(events, subscribers, published, delivered)


async def one_by_one(publish: Callable[[int], Awaitable[Any]], count: int) -> float:
    start = time.perf_counter()
    for n in range(count):
        await publish(n)
    return count / (time.perf_counter() - start)


def row(name: str, timing: Timing, raw: Timing | None) -> str:
    ratios = ""
    if raw is not None:
        ratios = f"{timing.publish_rate / raw.publish_rate:>9.2f}x {timing.delivery_rate / raw.delivery_rate:>9.2f}x"
    return f"{timing.subscribers:>5} {name:<16} {timing.events:>7} {timing.publish_rate:>13,.0f} {timing.delivery_rate:>13,.0f} {ratios}"


async def main(url: str) -> None:
    import redis.asyncio

    # The raw baseline blocks one connection per subscriber in XREAD.
    client = redis.asyncio.Redis.from_url(url, max_connections=max(SUBSCRIBERS) + 10)
    await client.ping()
    prefix = f"streamkit-bench:{uuid.uuid4().hex}:"
    max_len = 2 * DELIVERIES  # no subscriber may lag in a throughput run
    print(f"broker throughput, redis at {url}; {DELIVERIES:,} deliveries per case, payload {json.dumps(PAYLOAD)}")
    print()
    print(f"{'subs':>5} {'backend':<16} {'events':>7} {'published ev/s':>14} {'delivered ev/s':>13} {'pub/raw':>10} {'deliv/raw':>10}")
    try:
        async with MemoryBroker(max_len=max_len) as memory, RedisBroker(url, prefix=prefix, max_len=max_len) as redis_broker:
            for subscribers in SUBSCRIBERS:
                events = events_for(subscribers)
                raw = await run_raw(client, subscribers, events, max_len)
                print(row("raw XADD/XREAD", raw, None))
                print(row("RedisBroker", await run_broker(redis_broker, subscribers, events), raw))
                print(row("MemoryBroker", await run_broker(memory, subscribers, events), raw))
            print()
            count = 2000
            key = f"{prefix}single"
            raw_single = await one_by_one(
                lambda n: client.xadd(key, {"d": json.dumps(dict(PAYLOAD, n=n))}, maxlen=max_len, approximate=True), count
            )
            broker_single = await one_by_one(lambda n: redis_broker.publish("single", dict(PAYLOAD, n=n)), count)
            memory_single = await one_by_one(lambda n: memory.publish("single", dict(PAYLOAD, n=n)), count)
            await client.delete(key)
            await redis_broker.delete("single")
            print(f"one publish per round trip, no subscribers ({count:,} events):")
            print(f"  raw XADD            {raw_single:>10,.0f} ev/s")
            print(f"  RedisBroker.publish {broker_single:>10,.0f} ev/s   {broker_single / raw_single:.2f}x raw")
            print(f"  MemoryBroker.publish{memory_single:>10,.0f} ev/s   {memory_single / raw_single:.2f}x raw")
    finally:
        keys = [key async for key in client.scan_iter(match=f"{prefix}*")]
        if keys:
            await client.delete(*keys)
        await client.aclose()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1] if len(sys.argv) > 1 else "redis://127.0.0.1:6379/0"))
