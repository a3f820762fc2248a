"""Operator details the matrix does not pin down: error filters, async variants, one-shot retries."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import anyio
import pytest

import streamkit as sk
from tests.core.core_helpers import Boom, Kit


async def test_catch_passes_the_error_to_a_fallback_function() -> None:
    kit = Kit()
    stream = kit.source([1], then="boom") | sk.catch(lambda error: sk.just(f"{type(error).__name__}: {error}"))
    assert await stream.list() == [1, "Boom: source failed"]
    kit.assert_closed()


async def test_catch_lets_other_errors_through() -> None:
    kit = Kit()
    fallback = kit.source([99])
    with pytest.raises(Boom):
        await (kit.source([1], then="boom") | sk.catch(fallback, exceptions=(KeyError, ValueError))).list()
    assert kit.trackers[0].started == 0  # the fallback never ran
    kit.assert_closed()


async def test_retry_of_a_one_shot_source_fails_at_once_with_stream_reused() -> None:
    def fails_once() -> Iterator[int]:
        yield 1
        raise Boom("first run")

    start = anyio.current_time()
    with pytest.raises(sk.StreamReusedError):
        await (sk.iterate(fails_once()) | sk.retry(3, backoff=10)).list()
    # Only the wait before the first retry: a source that cannot restart is not retried again.
    assert anyio.current_time() - start == 10


async def test_switch_map_with_an_async_function() -> None:
    async def lookup(query: str) -> sk.Stream[str]:
        await anyio.sleep(0.25)
        return sk.iterate([query, query.upper()])

    assert await (sk.iterate(["a", "b"]) | sk.spaceout(1) | sk.switch_map(lookup)).list() == ["a", "A", "b", "B"]


async def test_flat_map_with_an_async_function_returning_a_stream() -> None:
    async def expand(n: int) -> sk.Stream[int]:
        return sk.iterate(range(n))

    assert await (sk.iterate([1, 2, 3]) | sk.flat_map(expand)).list() == [0, 0, 1, 0, 1, 2]


async def test_zip_three_streams_and_merge_a_channel() -> None:
    zipped = sk.iterate("ab") | sk.zip(sk.iterate([1, 2, 3]), sk.iterate([True, False]))
    assert await zipped.list() == [("a", 1, True), ("b", 2, False)]

    channel: sk.Channel[str] = sk.Channel()

    async def produce() -> None:
        await anyio.sleep(1.5)
        await channel.send("pushed")
        channel.close()

    async with anyio.create_task_group() as tg:
        tg.start_soon(produce)
        merged = await (sk.interval(1) | sk.take(2) | sk.merge(channel)).list()
    assert merged == [0, "pushed", 1]


async def test_concurrent_map_error_cancels_the_calls_in_flight() -> None:
    finished: list[int] = []
    cancelled: list[int] = []

    async def work(n: int) -> int:
        try:
            await anyio.sleep(n)
            if n == 2:
                raise Boom("call failed")
            finished.append(n)
            return n
        except anyio.get_cancelled_exc_class():
            cancelled.append(n)
            raise

    async with (sk.iterate([5, 2, 9, 1]) | sk.map(work, concurrency=4)).open() as items:
        with pytest.raises(Boom):
            async for _ in items:
                pass
        assert sorted(cancelled) == [5, 9]  # already cancelled when the error reached the consumer
    assert finished == [1]


async def test_concurrent_map_keeps_order_with_bounded_memory() -> None:
    started: list[int] = []

    async def work(n: int) -> int:
        started.append(n)
        await anyio.sleep(10 if n == 0 else 0.1)
        return n

    async with (sk.iterate(range(100)) | sk.map(work, concurrency=3)).open() as items:
        assert await anext(items) == 0
        # Item 0 held up the reordering: no more than `concurrency` items were started meanwhile.
        assert len(started) <= 3 + 1
    assert await (sk.iterate(range(20)) | sk.map(work, concurrency=3)).list() == list(range(20))


async def test_take_until_trigger_fires_while_the_consumer_is_busy() -> None:
    kit = Kit()
    got = []
    async with (kit.source(range(10), gap=1) | sk.take_until(3.5)).open() as items:
        async for item in items:
            got.append(item)
            await anyio.sleep(0.75)
    assert got == [0, 1, 2]
    kit.assert_closed()


async def test_tap_sees_every_item_once() -> None:
    seen: list[int] = []

    async def note(x: int) -> None:
        seen.append(-x)

    result = await (sk.iterate([1, 2]) | sk.tap(seen.append) | sk.tap(note)).list()
    assert result == [1, 2]
    assert seen == [1, -1, 2, -2]


async def test_heartbeat_value_can_be_of_another_type_and_never_ends_a_silent_stream() -> None:
    got = []
    with anyio.move_on_after(3.5):
        async for item in sk.never() | sk.heartbeat(1, "ping"):
            got.append(item)
    assert got == ["ping", "ping", "ping"]


async def test_iterate_thread_true_on_a_re_iterable_reads_it_each_run() -> None:
    def numbers() -> Iterator[int]:
        yield from (1, 2)

    class Numbers:
        def __iter__(self) -> Iterator[int]:
            return numbers()

    stream = sk.iterate(Numbers())
    assert await stream.list() == [1, 2]
    assert await stream.list() == [1, 2]


async def test_push_producer_sees_channel_closed_when_consumer_takes_enough() -> None:
    outcome: list[str] = []

    async def produce(channel: sk.Channel[int]) -> None:
        n = 0
        try:
            while True:
                await channel.send(n)
                n += 1
        except sk.ChannelClosedError:
            outcome.append("closed")
            raise
        finally:
            outcome.append("finally")

    assert await (sk.push(produce, max_buffer=2) | sk.take(3)).list() == [0, 1, 2]
    assert outcome[-1] == "finally"


async def test_async_generator_source_error_after_items() -> None:
    async def source() -> AsyncIterator[int]:
        yield 1
        raise Boom("late")

    got = []
    with pytest.raises(Boom):
        async for item in sk.Stream(source) | sk.buffer(4) | sk.map(str):
            got.append(item)
    assert got == ["1"]
