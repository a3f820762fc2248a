"""Publishing, subscribing, replay and retention: the same tests on the memory and Redis backends."""

from __future__ import annotations

import time
import uuid
from collections.abc import AsyncIterator, Callable
from typing import Any

import anyio
import pytest

import streamkit as sk
from streamkit.broker import (
    START,
    Broker,
    BrokerClosed,
    Message,
    ProducerCancelled,
    ProducerFailed,
    SubscriberLagged,
)
from streamkit.broker._ids import parse_id

from .conftest import wait_for_subscribers, wait_until


async def collect(broker: Broker, topic: str, count: int, into: list[Message[Any]], **options: Any) -> None:
    async with (broker.subscribe(topic, **options) | sk.take(count)).open() as messages:
        async for message in messages:
            into.append(message)


def ids_increase(ids: list[str]) -> bool:
    keys = [parse_id("id", i) for i in ids]
    return keys == sorted(keys) and len(set(keys)) == len(keys)


async def test_live_subscribers_get_each_new_item_once_in_order_with_its_id(broker: Broker) -> None:
    await broker.publish("news", "before anyone listened")
    first: list[Message[Any]] = []
    second: list[Message[Any]] = []
    async with anyio.create_task_group() as tg:
        tg.start_soon(collect, broker, "news", 3, first)
        tg.start_soon(collect, broker, "news", 3, second)
        await wait_for_subscribers(broker, "news", 2)
        ids = [await broker.publish("news", {"n": n}) for n in range(3)]
    assert [m.data for m in first] == [{"n": 0}, {"n": 1}, {"n": 2}]
    assert first == second
    assert [m.id for m in first] == ids
    assert ids_increase(ids)


async def test_fan_out_reaches_every_subscriber(broker: Broker) -> None:
    inboxes: list[list[Message[Any]]] = [[] for _ in range(5)]
    async with anyio.create_task_group() as tg:
        for inbox in inboxes:
            tg.start_soon(collect, broker, "fan", 20, inbox)
        await wait_for_subscribers(broker, "fan", 5)
        ids = await broker.publish_many("fan", range(20))
    for inbox in inboxes:
        assert [m.data for m in inbox] == list(range(20))
        assert [m.id for m in inbox] == ids


async def test_replay_after_an_id_then_live_has_no_gap_and_no_duplicate(broker: Broker) -> None:
    """A subscriber joins after event k while publishing goes on: it gets k+1.. exactly once."""
    total, resume_after = 60, 20
    ids: list[str] = []
    got: list[Message[Any]] = []
    published_enough = anyio.Event()

    async def publisher() -> None:
        for n in range(total):
            ids.append(await broker.publish("feed", n))
            if n == resume_after + 5:
                published_enough.set()
            await anyio.sleep(0.002)

    async with anyio.create_task_group() as tg:
        tg.start_soon(publisher)
        await published_enough.wait()  # history exists, and more is coming while we switch
        await collect(broker, "feed", total - resume_after - 1, got, after=ids[resume_after])
    assert [m.data for m in got] == list(range(resume_after + 1, total))
    assert [m.id for m in got] == ids[resume_after + 1 :]


async def test_start_replays_the_whole_topic_and_the_end_marker_ends_the_stream(broker: Broker) -> None:
    assert await broker.publish_stream("story", sk.iterate(["once", "upon", "a time"])) == 3
    messages = await broker.subscribe("story", after=START).list()
    assert [m.data for m in messages] == ["once", "upon", "a time"]
    # Another run of the same stream is a new subscription, from the same point.
    assert await broker.subscribe("story", after=messages[0].id).list() == messages[1:]
    assert await broker.subscribe("story", after=messages[-1].id).list() == []


async def test_a_failing_published_stream_fails_its_subscribers_with_its_error(broker: Broker) -> None:
    async def source() -> AsyncIterator[int]:
        yield 1
        yield 2
        raise ValueError("the model refused")

    with pytest.raises(ValueError, match="the model refused"):
        await broker.publish_stream("answer", source())
    got: list[int] = []
    with pytest.raises(ProducerFailed, match="ValueError: the model refused"):
        async for message in broker.subscribe("answer", after=START):
            got.append(message.data)
    assert got == [1, 2]


async def test_end_with_an_error_text(broker: Broker) -> None:
    await broker.publish("job", "started")
    await broker.end("job", "disk full")
    with pytest.raises(ProducerFailed, match="disk full"):
        await broker.subscribe("job", after=START).list()
    with pytest.raises(TypeError, match="end\\(error=...\\)"):
        await broker.end("job", 42)  # type: ignore[arg-type]


async def test_publishing_step_passes_items_on_with_their_ids(broker: Broker) -> None:
    passed = await (sk.iterate("abc") | broker.publishing("letters")).list()
    assert [m.data for m in passed] == ["a", "b", "c"]
    assert await broker.subscribe("letters", after=START).list() == passed

    # A consumer that stops early ends the topic as cancelled, so readers don't wait forever.
    assert [m.data for m in await (sk.iterate("xyz") | broker.publishing("early") | sk.take(1)).list()] == ["x"]
    got: list[str] = []
    with pytest.raises(ProducerCancelled, match="stopped early"):
        async for message in broker.subscribe("early", after=START):
            got.append(message.data)
    assert got == ["x"]


async def test_retention_keeps_the_newest_max_len_events(make_broker: Callable[..., Broker]) -> None:
    broker = make_broker(max_len=5)
    ids = [await broker.publish("t", n) for n in range(12)]
    assert await broker.retained("t") == 5
    # After the event just before the oldest kept one: complete, so allowed.
    resumed = await (broker.subscribe("t", after=ids[6]) | sk.take(5)).list()
    assert [m.data for m in resumed] == [7, 8, 9, 10, 11]
    # Anything older would silently skip events: a clear error instead.
    for too_old in (START, ids[0], ids[5]):
        with pytest.raises(SubscriberLagged, match="no longer retained") as caught:
            await broker.subscribe("t", after=too_old).list()
        assert caught.value.topic == "t"
        assert caught.value.after == too_old
        with pytest.raises(SubscriberLagged):
            await broker.check_resume("t", too_old)
    await broker.check_resume("t", ids[6])


async def test_retention_by_age(make_broker: Callable[..., Broker]) -> None:
    broker = make_broker(max_len=None, max_age=0.5)
    old = await broker.publish("t", "old")
    await anyio.sleep(0.7)
    new = await broker.publish("t", "new")
    assert await broker.retained("t") == 1
    with pytest.raises(SubscriberLagged, match="no longer retained"):
        await broker.subscribe("t", after=START).list()
    assert await (broker.subscribe("t", after=old) | sk.take(1)).list() == [Message(new, "new")]


async def test_a_slow_subscriber_gets_a_lagged_error_and_memory_stays_bounded(
    make_broker: Callable[..., Broker], broker_kind: str
) -> None:
    # Redis reads ahead of the consumer by up to ``batch`` events: keep that small here.
    broker = make_broker(max_len=5, **({"batch": 2} if broker_kind == "redis" else {}))
    ids = [await broker.publish("t", 0)]
    got: list[int] = []
    with pytest.raises(SubscriberLagged, match="fell too far behind") as caught:
        async with broker.subscribe("t", after=START).open() as messages:
            got.append((await anext(messages)).data)
            # The subscriber stalls while the topic moves far past its retention.
            for n in range(1, 50):
                ids.append(await broker.publish("t", n))
            await anyio.sleep(0.3)
            async for message in messages:
                got.append(message.data)
    # What arrived before the error is gap-free; nothing was silently skipped.
    assert got == list(range(len(got)))
    assert len(got) < 10
    assert caught.value.after == ids[len(got) - 1]
    assert await broker.retained("t") == 5


async def test_a_slow_subscriber_within_the_retention_gets_everything(
    make_broker: Callable[..., Broker], broker_kind: str
) -> None:
    # On Redis the worker keeps only 4 batches of recent events in memory: a subscriber that
    # falls out of that window reads the gap from Redis, then rejoins the live feed.
    broker = make_broker(max_len=1000, **({"batch": 2} if broker_kind == "redis" else {}))
    got: list[int] = []
    async with broker.subscribe("t").open() as messages:
        async with anyio.create_task_group() as tg:
            tg.start_soon(anext, messages)
            await wait_for_subscribers(broker, "t", 1)
            tg.cancel_scope.cancel()
    async with anyio.create_task_group() as tg:

        async def slow_reader() -> None:
            async with (broker.subscribe("t", after=START) | sk.take(100)).open() as items:
                async for message in items:
                    got.append(message.data)
                    if len(got) in (1, 50):
                        await anyio.sleep(0.2)  # meanwhile dozens of events go by

        tg.start_soon(slow_reader)
        for n in range(100):
            await broker.publish("t", n)
            await anyio.sleep(0.001)
    assert got == list(range(100))


async def test_resume_from_ids_the_topic_never_had_fails_clearly(broker: Broker) -> None:
    with pytest.raises(SubscriberLagged, match="no history"):
        await broker.subscribe("nothing-here", after="1700000000000-0").list()
    # Publish until the id's milliseconds change, so that an id fits between two events.
    ids = [await broker.publish("t", 0)]
    while parse_id("id", ids[-1])[0] == parse_id("id", ids[0])[0]:
        ids.append(await broker.publish("t", len(ids)))
    before_gap = parse_id("id", ids[-2])
    between = f"{before_gap[0]}-{before_gap[1] + 1}"
    with pytest.raises(SubscriberLagged, match="no such event"):
        await broker.subscribe("t", after=between).list()
    ms, _ = parse_id("id", ids[0])
    # Older than the topic's first event: another incarnation of the topic.
    with pytest.raises(SubscriberLagged, match="was reset"):
        await broker.subscribe("t", after=f"{ms - 1}-0").list()
    with pytest.raises(SubscriberLagged, match="after the topic's newest"):
        await broker.subscribe("t", after=f"{ms + 10_000}-0").list()
    with pytest.raises(SubscriberLagged, match="was reset"):
        await broker.check_resume("t", f"{ms - 1}-0")


async def test_start_from_a_topic_that_does_not_exist_yet(broker: Broker) -> None:
    got: list[Message[Any]] = []
    async with anyio.create_task_group() as tg:

        async def read() -> None:
            await collect(broker, "soon", 2, got, after=START)

        tg.start_soon(read)
        await wait_for_subscribers(broker, "soon", 1)
        await broker.publish_many("soon", ["a", "b"])
    assert [m.data for m in got] == ["a", "b"]


@pytest.mark.parametrize(
    ("after", "error", "message"),
    [
        ("", ValueError, "after='' is not an event id"),
        ("12-x", ValueError, "after='12-x' is not an event id"),
        ("1-2-3", ValueError, "is not an event id"),
        (" 1-0", ValueError, "is not an event id"),
        ("99999999999999999999-0", ValueError, "out of range"),
        (17, TypeError, "after must be an event id string"),
    ],
)
async def test_malformed_after_is_refused_when_subscribing(broker: Broker, after: Any, error: type[Exception], message: str) -> None:
    with pytest.raises(error, match=message):
        broker.subscribe("t", after=after)
    with pytest.raises(error, match=message):
        await broker.check_resume("t", after)


async def test_bad_topic_names_are_refused(broker: Broker) -> None:
    with pytest.raises(ValueError, match="must not be empty"):
        await broker.publish("", 1)
    with pytest.raises(TypeError, match="topic name must be a str, got int"):
        broker.subscribe(5)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="topic name must be a str"):
        broker.start(None, sk.iterate([1]))  # type: ignore[arg-type]


async def read_until_error(broker: Broker, topic: str, got: list[Any], errors: list[BaseException], **options: Any) -> None:
    try:
        async for message in broker.subscribe(topic, **options):
            got.append(message.data)
    except Exception as error:
        errors.append(error)


async def test_deleting_a_topic_ends_its_subscribers_with_an_error(broker: Broker) -> None:
    got: list[Any] = []
    errors: list[BaseException] = []
    async with anyio.create_task_group() as tg:
        tg.start_soon(read_until_error, broker, "doomed", got, errors)
        await wait_for_subscribers(broker, "doomed", 1)
        await broker.publish("doomed", "last words")
        await wait_until(lambda: _true(got))
        await broker.delete("doomed")
    assert got == ["last words"]
    assert len(errors) == 1
    assert isinstance(errors[0], SubscriberLagged)
    assert "deleted" in str(errors[0]) or "vanished" in str(errors[0])
    assert await broker.retained("doomed") == 0


async def _true(value: Any) -> bool:
    return bool(value)


async def test_subscriber_count_follows_subscriptions(broker: Broker) -> None:
    assert await broker.subscriber_count("room") == 0
    async with broker.subscribe("room").open() as one, broker.subscribe("room").open() as two:
        async with anyio.create_task_group() as tg:
            tg.start_soon(anext, one)
            tg.start_soon(anext, two)
            await wait_for_subscribers(broker, "room", 2)
            tg.cancel_scope.cancel()
    assert await broker.subscriber_count("room") == 0


async def test_a_closed_broker_ends_subscribers_and_refuses_work(broker: Broker) -> None:
    errors: list[BaseException] = []
    async with anyio.create_task_group() as tg:
        tg.start_soon(read_until_error, broker, "t", [], errors)
        await wait_for_subscribers(broker, "t", 1)
        await broker.aclose()
    assert [type(error) for error in errors] == [BrokerClosed]
    assert broker.closed
    with pytest.raises(BrokerClosed):
        await broker.publish("t", 1)
    with pytest.raises(BrokerClosed):
        await broker.subscribe("t").list()
    await broker.aclose()  # twice is fine


async def test_a_made_up_id_between_two_events_is_refused_before_the_stream_starts(broker: Broker) -> None:
    """A client-controlled Last-Event-ID the topic never gave gets a clear error, never a stream."""
    topic = f"made-up-{uuid.uuid4().hex}"
    first = await broker.publish(topic, 0)
    time.sleep(0.005)  # ids are wall-clock milliseconds (even on a virtual clock): a later ms
    second = await broker.publish(topic, 1)
    ms, seq = (int(part) for part in first.split("-"))
    made_up = f"{ms}-{seq + 1}"
    assert parse_id("a", first) < parse_id("b", made_up) < parse_id("c", second)
    with pytest.raises(SubscriberLagged, match="no such event"):
        await broker.check_resume(topic, made_up)
    with pytest.raises(SubscriberLagged):
        await broker.subscribe(topic, after=made_up).first()
    await broker.check_resume(topic, first)  # a real id is fine
