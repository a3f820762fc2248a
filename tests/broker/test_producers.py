"""Resumable generation: a producer that outlives its client, on both backends."""

from __future__ import annotations

import math
from collections.abc import AsyncIterator, Callable
from typing import Any

import anyio
import pytest

import streamkit as sk
from streamkit.broker import START, Broker, Message, ProducerCancelled, ProducerFailed

from .conftest import wait_until


class Generation:
    """A slow source, like an LLM call: ``count`` tokens, ``pause`` seconds apart (None: endless)."""

    def __init__(self, count: float = math.inf, pause: float = 0.02) -> None:
        self.count = count
        self.pause = pause
        self.started = 0
        self.closed = 0

    def stream(self) -> sk.Stream[str]:
        async def run() -> AsyncIterator[str]:
            self.started += 1
            try:
                n = 0
                while n < self.count:
                    await anyio.sleep(self.pause)
                    yield f"token {n}"
                    n += 1
            finally:
                self.closed += 1

        return sk.Stream(run)


async def test_a_producer_keeps_going_after_its_client_leaves_and_the_client_resumes(broker: Broker) -> None:
    generation = Generation(count=20)
    producer = broker.start("answer", generation.stream(), keep_alive=10.0)
    seen: list[Message[str]] = []
    async with broker.subscribe("answer", after=START).open() as messages:
        async for message in messages:
            seen.append(message)
            if len(seen) == 5:
                break  # the browser tab closes
    # Nobody reads now, but the generation finishes within keep_alive.
    with anyio.fail_after(10):
        await producer.wait()
    assert producer.count == 20 and producer.error is None and not producer.cancelled
    assert generation.started == generation.closed == 1
    # The client reconnects with Last-Event-ID and gets exactly the rest, then the end.
    rest = await broker.subscribe("answer", after=seen[-1].id).list()
    assert [m.data for m in seen + rest] == [f"token {n}" for n in range(20)]
    assert len({m.id for m in seen + rest}) == 20


async def test_a_producer_nobody_reads_is_cancelled_after_keep_alive(broker: Broker) -> None:
    generation = Generation()  # endless
    producer = broker.start("answer", generation.stream(), keep_alive=0.5)
    seen = await (broker.subscribe("answer", after=START) | sk.take(3)).list()
    with anyio.fail_after(10):
        await producer.wait()
    assert producer.cancelled and producer.error is None
    assert producer.reason == "nobody subscribed to it for 0.5 s"
    assert generation.closed == 1  # the upstream call was stopped, its cleanup ran
    # A client coming back later learns that the answer is incomplete.
    got: list[str] = []
    with pytest.raises(ProducerCancelled, match="nobody subscribed to it for 0.5 s"):
        async for message in broker.subscribe("answer", after=seen[-1].id):
            got.append(message.data)
    assert got == [f"token {n}" for n in range(3, 3 + len(got))]


# keep_alive counts from the start, so with keep_alive=0 the subscriber has until the first
# presence check to arrive: 0.3 s here, to stay clear of a loaded machine's delays.


async def test_keep_alive_zero_runs_while_someone_reads(make_broker: Callable[..., Broker]) -> None:
    broker = make_broker(presence_interval=0.3)
    generation = Generation(count=15)
    producer = broker.start("answer", generation.stream(), keep_alive=0)
    messages = await broker.subscribe("answer", after=START).list()
    assert [m.data for m in messages] == [f"token {n}" for n in range(15)]
    await producer.wait()
    assert not producer.cancelled and producer.count == 15


async def test_keep_alive_zero_stops_as_soon_as_nobody_reads(make_broker: Callable[..., Broker]) -> None:
    broker = make_broker(presence_interval=0.3)
    generation = Generation()
    producer = broker.start("answer", generation.stream(), keep_alive=0)
    await (broker.subscribe("answer", after=START) | sk.take(2)).list()
    with anyio.fail_after(5):
        await producer.wait()
    assert producer.cancelled and generation.closed == 1


async def test_keep_alive_inf_always_finishes(broker: Broker) -> None:
    generation = Generation(count=10, pause=0.01)
    producer = broker.start("answer", generation.stream(), keep_alive=math.inf)
    await producer.wait()
    assert producer.count == 10 and not producer.cancelled
    assert len(await broker.subscribe("answer", after=START).list()) == 10


async def test_a_failing_producer_fails_its_subscribers(broker: Broker) -> None:
    async def source() -> AsyncIterator[str]:
        yield "partial"
        raise ConnectionResetError("upstream hung up")

    producer = broker.start("answer", source(), keep_alive=5)
    await producer.wait()
    assert isinstance(producer.error, ConnectionResetError)
    got: list[str] = []
    with pytest.raises(ProducerFailed, match="ConnectionResetError: upstream hung up"):
        async for message in broker.subscribe("answer", after=START):
            got.append(message.data)
    assert got == ["partial"]


async def test_cancel_a_producer(broker: Broker) -> None:
    generation = Generation()
    producer = broker.start("answer", generation.stream(), keep_alive=math.inf)
    await wait_until(lambda: _has(broker, "answer"))
    assert broker.producer("answer") is producer
    producer.cancel()
    await producer.wait()
    assert producer.cancelled and generation.closed == 1
    assert broker.producer("answer") is None
    with pytest.raises(ProducerCancelled, match="Producer.cancel"):
        await broker.subscribe("answer", after=START).list()
    producer.cancel()  # a no-op once done


async def _has(broker: Broker, topic: str) -> bool:
    return await broker.retained(topic) > 0


async def test_one_producer_per_topic(broker: Broker) -> None:
    first = broker.start("answer", Generation().stream(), keep_alive=math.inf)
    with pytest.raises(ValueError, match="already publishing to topic 'answer'"):
        broker.start("answer", Generation().stream())
    first.cancel()
    await first.wait()
    second = broker.start("answer", Generation(count=1).stream())
    await second.wait()
    assert second.count == 1


async def test_closing_the_broker_stops_its_producers(make_broker: Callable[..., Broker]) -> None:
    broker = make_broker()
    generation = Generation()
    producer = broker.start("answer", generation.stream(), keep_alive=math.inf)
    await wait_until(lambda: _has(broker, "answer"))
    await broker.aclose()
    assert producer.done and producer.cancelled and producer.reason == "its broker closed"
    assert generation.closed == 1


@pytest.mark.parametrize(("keep_alive", "error"), [(-1, ValueError), (math.nan, ValueError), ("30", TypeError)])
async def test_bad_keep_alive_is_refused(broker: Broker, keep_alive: Any, error: type[Exception]) -> None:
    with pytest.raises(error, match="keep_alive"):
        broker.start("answer", sk.iterate([1]), keep_alive=keep_alive)
    assert broker.producer("answer") is None
