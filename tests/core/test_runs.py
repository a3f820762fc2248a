"""Streams are cold and re-iterable; runs close deterministically; terminal helpers.

Covers DESIGN.md contracts 1 and 3: every iteration is a fresh run, one-shot sources say so on
a second run, per-run state starts afresh, ``|`` never mutates, and a run closed from another
task ends the consumer's loop after its cleanup.
"""

from __future__ import annotations

import operator
from collections.abc import AsyncIterator, Iterator
from typing import Any

import anyio
import pytest

import streamkit as sk
from tests.core.core_helpers import Boom, Kit
from streamkit.testing import SourceTracker

# -- cold, re-iterable ---------------------------------------------------------------------------


async def test_every_iteration_is_a_fresh_run() -> None:
    kit = Kit()
    stream = kit.source([1, 2, 3]) | sk.map(lambda x: x * 2) | sk.filter(lambda x: x > 2)
    assert await stream.list() == [4, 6]
    assert await stream.list() == [4, 6]
    assert [x async for x in stream] == [4, 6]
    assert kit.trackers[0].started == 3
    kit.assert_closed()


async def test_per_run_state_starts_afresh() -> None:
    stream = (
        sk.iterate([1, 1, 2, 3, 4])
        | sk.distinct()
        | sk.skip(1)
        | sk.scan(operator.add, 0)
        | sk.enumerate()
        | sk.take(2)
    )
    first = await stream.list()
    assert first == [(0, 2), (1, 5)]
    assert await stream.list() == first


async def test_per_run_state_of_generator_operators_starts_afresh() -> None:
    stream = sk.iterate([1, 2, 3]) | sk.scan(lambda acc, x: acc + [x], []) | sk.batch(2)
    assert await stream.list() == [[[1], [1, 2]], [[1, 2, 3]]]
    assert await stream.list() == [[[1], [1, 2]], [[1, 2, 3]]]


async def test_pipe_never_mutates_the_stream() -> None:
    base = sk.iterate([1, 2, 3])
    doubled = base | sk.map(lambda x: x * 2)
    tripled = base | sk.map(lambda x: x * 3)
    fewer = doubled | sk.take(1)
    assert await base.list() == [1, 2, 3]
    assert await doubled.list() == [2, 4, 6]
    assert await tripled.list() == [3, 6, 9]
    assert await fewer.list() == [2]
    assert await doubled.list() == [2, 4, 6]


async def test_stream_from_a_function_is_re_runnable() -> None:
    async def numbers() -> AsyncIterator[int]:
        yield 1
        yield 2

    stream = sk.Stream(numbers)
    assert await stream.list() == [1, 2]
    assert await stream.list() == [1, 2]


def sync_numbers() -> Iterator[int]:
    yield 1
    yield 2


async def async_numbers() -> AsyncIterator[int]:
    yield 1
    yield 2


async def numbers_later() -> list[int]:
    return [1, 2]


@pytest.mark.parametrize(
    "make",
    [
        pytest.param(lambda: sk.iterate(sync_numbers()), id="sync-generator"),
        pytest.param(lambda: sk.iterate(iter([1, 2])), id="sync-iterator"),
        pytest.param(lambda: sk.iterate(async_numbers()), id="async-generator"),
        pytest.param(lambda: sk.iterate(numbers_later()), id="awaitable"),
        pytest.param(lambda: sk.iterate(sync_numbers()) | sk.map(str) | sk.take(5), id="sync-generator-piped"),
        pytest.param(lambda: sk.iterate(async_numbers()) | sk.timeout(5), id="async-generator-pumped"),
    ],
)
async def test_one_shot_sources_raise_on_a_second_run(make: Any) -> None:
    stream = make()
    assert len(await stream.list()) == 2
    with pytest.raises(sk.StreamReusedError, match="only once"):
        await stream.list()


async def test_a_one_shot_source_left_unread_raises_nothing() -> None:
    # Building a pipeline from a generator object and never running it is fine.
    sk.iterate(sync_numbers()) | sk.map(str)
    sk.iterate(async_numbers()) | sk.map(str)


async def test_channel_has_a_single_consumer() -> None:
    channel: sk.Channel[int] = sk.Channel()
    await channel.send(1)
    channel.close()
    assert await channel.list() == [1]
    with pytest.raises(sk.StreamReusedError, match="single consumer"):
        await channel.list()
    with pytest.raises(sk.StreamReusedError):
        await (channel | sk.map(str)).list()


async def test_iterating_a_stream_twice_at_once_gives_two_independent_runs() -> None:
    kit = Kit()
    stream = kit.source([1, 2, 3])
    async with stream.open() as a, stream.open() as b:
        assert [await anext(a), await anext(b), await anext(a), await anext(b)] == [1, 1, 2, 2]
    assert kit.trackers[0].started == 2
    kit.assert_closed()


# -- closing a run -------------------------------------------------------------------------------


async def test_run_close_from_another_task_while_the_consumer_waits() -> None:
    kit = Kit()
    got: list[int] = []
    closed_when_loop_ended: list[bool] = []
    async with (kit.source([1, 2, 3], then="hang") | sk.map(lambda x: x)).open() as run:

        async def close_later() -> None:
            await anyio.sleep(10)
            run.close()

        async with anyio.create_task_group() as tg:
            tg.start_soon(close_later)
            async for item in run:
                got.append(item)
            closed_when_loop_ended.append(kit.trackers[0].open_runs == 0)
    assert got == [1, 2, 3]
    assert closed_when_loop_ended == [True]


async def test_run_close_from_another_task_while_the_consumer_is_busy() -> None:
    kit = Kit()
    got: list[int] = []
    closed_when_loop_ended: list[bool] = []
    async with kit.source([1, 2, 3], then="hang").open() as run:

        async def close_soon() -> None:
            await anyio.sleep(1.5)
            run.close()

        async with anyio.create_task_group() as tg:
            tg.start_soon(close_soon)
            async for item in run:
                got.append(item)
                await anyio.sleep(1)  # close() arrives while the consumer is here
            closed_when_loop_ended.append(kit.trackers[0].open_runs == 0)
    assert got == [1]
    assert closed_when_loop_ended == [True]


async def test_run_close_ends_background_operators() -> None:
    kit = Kit()
    async with (kit.source([1], then="hang") | sk.merge(kit.source([2], gap=2, then="hang")) | sk.heartbeat(5, 0)).open() as run:

        async def close_later() -> None:
            await anyio.sleep(13)
            run.close()

        async with anyio.create_task_group() as tg:
            tg.start_soon(close_later)
            got = [item async for item in run]
        kit.assert_closed()
    assert got == [1, 2, 0, 0]


async def test_run_closed_before_the_first_item() -> None:
    kit = Kit()
    async with kit.source().open() as run:
        run.close()
        assert [item async for item in run] == []
    kit.assert_closed()


async def test_run_aclose_is_idempotent_and_runs_cleanup() -> None:
    kit = Kit()
    run = kit.source([1, 2], then="hang").open()
    assert await anext(run) == 1
    await run.aclose()
    kit.assert_closed()
    await run.aclose()
    with pytest.raises(StopAsyncIteration):
        await anext(run)


async def test_channel_close_from_another_task_ends_the_loop_after_the_items_sent() -> None:
    channel: sk.Channel[int] = sk.Channel()

    async def produce() -> None:
        for n in range(3):
            await channel.send(n)
        await anyio.sleep(5)
        channel.close()

    async with anyio.create_task_group() as tg:
        tg.start_soon(produce)
        start = anyio.current_time()
        got = [item async for item in channel]
        assert anyio.current_time() - start == 5
    assert got == [0, 1, 2]


# -- terminal helpers ----------------------------------------------------------------------------


async def test_first_reads_one_item_and_closes() -> None:
    tracker = SourceTracker()
    assert await tracker.track([1, 2, 3]).first() == 1
    assert tracker.events == ["start", "item", "close"]
    assert await sk.empty().first(default=None) is None
    with pytest.raises(sk.EmptyStreamError):
        await sk.empty().first()


async def test_take_closes_the_source_without_reading_more() -> None:
    tracker = SourceTracker()
    assert await (tracker.track([1, 2, 3]) | sk.take(2)).list() == [1, 2]
    assert tracker.events == ["start", "item", "item", "close"]
    tracker = SourceTracker()
    assert await (tracker.track([1, 2, 3]) | sk.take_while(lambda x: x < 2, inclusive=True)).list() == [1, 2]
    assert tracker.events == ["start", "item", "item", "close"]
    tracker = SourceTracker()
    assert await (tracker.track([1, 2, 3]) | sk.take(0)).list() == []
    assert tracker.started == 0


async def test_take_while_exclusive_and_inclusive() -> None:
    source = sk.iterate([1, 2, 5, 1])
    assert await (source | sk.take_while(lambda x: x < 3)).list() == [1, 2]
    assert await (source | sk.take_while(lambda x: x < 3, inclusive=True)).list() == [1, 2, 5]
    assert await (source | sk.take_while(lambda x: x < 3, inclusive=True) | sk.map(str)).list() == ["1", "2", "5"]


async def test_last_count_reduce() -> None:
    numbers = sk.iterate([1, 2, 3, 4])
    assert await numbers.last() == 4
    assert await numbers.count() == 4
    assert await numbers.reduce(operator.add) == 10
    assert await numbers.reduce(lambda acc, x: acc + [x], []) == [1, 2, 3, 4]
    assert await sk.empty().last(default="none") == "none"
    assert await sk.empty().count() == 0
    assert await sk.empty().reduce(operator.add, 0) == 0
    with pytest.raises(sk.EmptyStreamError):
        await sk.empty().last()
    with pytest.raises(sk.EmptyStreamError):
        await sk.empty().reduce(operator.add)


async def test_terminal_helpers_close_the_source_on_error() -> None:
    for helper in ("list", "last", "count"):
        kit = Kit()
        with pytest.raises(Boom):
            await getattr(kit.source([1], then="boom"), helper)()
        kit.assert_closed()


async def test_errors_keep_their_type_and_traceback() -> None:
    async def fails() -> AsyncIterator[int]:
        yield 1
        raise KeyError("deep")

    with pytest.raises(KeyError) as info:
        await (sk.Stream(fails) | sk.merge(sk.never()) | sk.heartbeat(1, 0) | sk.map(str)).list()
    assert any(entry.name == "fails" for entry in info.traceback)


async def test_cancellation_is_never_swallowed() -> None:
    # An operator that catches every Exception (catch, retry) must let cancellation through.
    kit = Kit()
    stream = kit.source([1], then="hang") | sk.catch(sk.just(-1)) | sk.retry(3)
    got = []
    with anyio.move_on_after(5) as scope:
        async for item in stream:
            got.append(item)
    assert scope.cancelled_caught
    assert got == [1]
    kit.assert_closed()
