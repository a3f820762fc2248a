"""Sources: iterate (every kind of input), just, empty, never, interval, timer, Channel, push.

Each source through the normal path, an empty input, an error, early stop and cancellation,
with the source's own cleanup (a generator's ``finally``, a producer's ``finally``) checked to
have run before control came back to the consumer.
"""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator, Iterator
from typing import Any

import anyio
import pytest

import streamkit as sk
from tests.core.core_helpers import Boom


class Log:
    """Generators that note their ``finally`` in a shared log."""

    def __init__(self) -> None:
        self.events: list[str] = []

    def sync_gen(self, items: list[Any], *, fail: bool = False) -> Iterator[Any]:
        try:
            yield from items
            if fail:
                raise Boom("sync source failed")
        finally:
            self.events.append("closed")

    async def async_gen(self, items: list[Any], *, fail: bool = False, hang: bool = False) -> AsyncIterator[Any]:
        try:
            for item in items:
                yield item
            if fail:
                raise Boom("async source failed")
            if hang:
                await anyio.sleep_forever()
        finally:
            self.events.append("closed")

    @property
    def closed(self) -> bool:
        return "closed" in self.events


# -- iterate ---------------------------------------------------------------------------------------


async def test_iterate_sync_iterables() -> None:
    assert await sk.iterate([1, 2]).list() == [1, 2]
    assert await sk.iterate(range(3)).list() == [0, 1, 2]
    assert await sk.iterate("ab").list() == ["a", "b"]
    assert await sk.iterate({"k": 1}).list() == ["k"]
    assert await sk.iterate([]).list() == []


async def test_iterate_async_iterables() -> None:
    log = Log()
    assert await sk.iterate(log.async_gen([1, 2])).list() == [1, 2]
    assert log.closed
    stream = sk.iterate([1])
    assert sk.iterate(stream) is stream

    class Countdown:
        """A re-iterable async iterable that is not a Stream."""

        def __aiter__(self) -> AsyncIterator[int]:
            return self._run()

        async def _run(self) -> AsyncIterator[int]:
            for n in (2, 1):
                yield n

    countdown = sk.iterate(Countdown())
    assert await countdown.list() == [2, 1]
    assert await countdown.list() == [2, 1]


async def test_iterate_awaitables() -> None:
    async def a_list() -> list[int]:
        await anyio.sleep(1)
        return [1, 2]

    async def a_stream() -> sk.Stream[int]:
        return sk.iterate([3, 4])

    async def not_iterable() -> int:
        return 5

    assert await sk.iterate(a_list()).list() == [1, 2]
    assert await sk.iterate(a_stream()).list() == [3, 4]
    with pytest.raises(TypeError, match="not iterable"):
        await sk.iterate(not_iterable()).list()


@pytest.mark.parametrize("kind", ["sync", "async"])
async def test_iterate_generator_error_keeps_its_type(kind: str) -> None:
    log = Log()
    source = log.sync_gen([1], fail=True) if kind == "sync" else log.async_gen([1], fail=True)
    got = []
    async with (sk.iterate(source) | sk.map(lambda x: x)).open() as items:
        with pytest.raises(Boom):
            async for item in items:
                got.append(item)
        assert log.closed
    assert got == [1]


@pytest.mark.parametrize("kind", ["sync", "async"])
async def test_iterate_generator_early_stop_closes_it(kind: str) -> None:
    log = Log()
    source = log.sync_gen([1, 2, 3]) if kind == "sync" else log.async_gen([1, 2, 3])
    async with sk.iterate(source).open() as items:
        async for _ in items:
            break
        assert not log.closed
    assert log.closed


@pytest.mark.parametrize("kind", ["sync", "async"])
async def test_iterate_generator_cancelled_closes_it(kind: str) -> None:
    log = Log()
    source = log.sync_gen([1, 2, 3]) if kind == "sync" else log.async_gen([1, 2, 3])
    with anyio.move_on_after(5) as scope:
        async with sk.iterate(source).open() as items:
            async for _ in items:
                await anyio.sleep_forever()
    assert scope.cancelled_caught
    assert log.closed


async def test_iterate_async_generator_cancelled_while_waiting() -> None:
    log = Log()
    with anyio.move_on_after(5) as scope:
        async for _ in sk.iterate(log.async_gen([1], hang=True)) | sk.map(str):
            pass
    assert scope.cancelled_caught
    assert log.closed


# -- just, empty, never ----------------------------------------------------------------------------


async def test_just_empty_never() -> None:
    assert await sk.just("x").list() == ["x"]
    assert await sk.just(None).list() == [None]
    assert await sk.empty().list() == []
    assert await (sk.empty() | sk.map(str)).list() == []
    with anyio.move_on_after(3600) as scope:
        await sk.never().list()
    assert scope.cancelled_caught
    assert await (sk.never() | sk.take_until(1.0)).list() == []
    assert await (sk.never() | sk.merge(sk.just(1)) | sk.take(1)).list() == [1]


# -- interval, timer (exact times are in test_time_exact) ------------------------------------------


async def test_interval_early_stop_and_cancellation() -> None:
    async with sk.interval(1).open() as ticks:
        async for tick in ticks:
            if tick == 2:
                break
    start = anyio.current_time()
    got = []
    with anyio.move_on_after(2.5):
        async for tick in sk.interval(1):
            got.append(tick)
    assert got == [0, 1]
    assert anyio.current_time() - start == 2.5


async def test_timer_cancelled_before_it_rings() -> None:
    with anyio.move_on_after(1) as scope:
        await sk.timer(2, "late").list()
    assert scope.cancelled_caught


# -- Channel ---------------------------------------------------------------------------------------


async def test_channel_normal_path() -> None:
    channel: sk.Channel[str] = sk.Channel()

    async def produce() -> None:
        await channel.send("a")
        assert await channel.wait(1.5)
        await channel.send("b")
        channel.close()

    async with anyio.create_task_group() as tg:
        tg.start_soon(produce)
        start = anyio.current_time()
        got = [(anyio.current_time() - start, item) async for item in channel | sk.map(str.upper)]
    assert got == [(0, "A"), (1.5, "B")]


async def test_channel_closed_at_once_is_empty() -> None:
    channel: sk.Channel[int] = sk.Channel()
    channel.close()
    assert await channel.list() == []
    with pytest.raises(sk.ChannelClosedError, match="closed"):
        await channel.send(1)


async def test_channel_close_with_an_error() -> None:
    channel: sk.Channel[int] = sk.Channel()
    await channel.send(1)
    channel.close(Boom("producer failed"))
    got = []
    with pytest.raises(Boom):
        async for item in channel:
            got.append(item)
    assert got == [1]
    with pytest.raises(TypeError, match="exception"):
        channel.close("not an exception")  # type: ignore[arg-type]


async def test_channel_is_bounded_and_a_fast_producer_waits() -> None:
    channel: sk.Channel[int] = sk.Channel(max_buffer=2)
    sent_at: list[float] = []

    async def produce() -> None:
        for n in range(5):
            await channel.send(n)
            sent_at.append(anyio.current_time())
        channel.close()

    got = []
    async with anyio.create_task_group() as tg:
        tg.start_soon(produce)
        await anyio.sleep(10)  # nobody reads: the producer is stuck after two items
        assert sent_at == [0, 0]
        assert not channel.send_nowait(99)
        async for item in channel:
            got.append(item)
            await anyio.sleep(1)
    assert got == [0, 1, 2, 3, 4]
    assert sent_at == [0, 0, 10, 11, 12]


async def test_channel_early_stop_tells_the_producer() -> None:
    channel: sk.Channel[int] = sk.Channel(max_buffer=1)
    outcome: list[str] = []

    async def produce() -> None:
        try:
            n = 0
            while await channel.wait(1):
                await channel.send(n)
                n += 1
            outcome.append("wait() said the consumer left")
            await channel.send(-1)
        except sk.ChannelClosedError as error:
            outcome.append(str(error))

    async with anyio.create_task_group() as tg:
        tg.start_soon(produce)
        async with channel.open() as items:
            async for item in items:
                if item == 2:
                    break
        assert channel.closed
    assert outcome == ["wait() said the consumer left", "the channel's consumer has left"]


async def test_channel_cancelled_consumer_tells_the_producer() -> None:
    channel: sk.Channel[int] = sk.Channel()
    with anyio.move_on_after(2):
        async for _ in channel:
            pass
    assert channel.closed
    with pytest.raises(sk.ChannelClosedError):
        channel.send_nowait(1)


async def test_channel_wait_returns_false_once_closed() -> None:
    channel: sk.Channel[int] = sk.Channel()
    start = anyio.current_time()

    async def close_later() -> None:
        await anyio.sleep(3)
        channel.close()

    async with anyio.create_task_group() as tg:
        tg.start_soon(close_later)
        assert await channel.wait() is False
    assert anyio.current_time() - start == 3
    assert await channel.wait(10) is False


async def test_channel_close_wakes_a_producer_blocked_on_a_full_buffer() -> None:
    channel: sk.Channel[int] = sk.Channel(max_buffer=1)
    await channel.send(0)
    outcome: list[str] = []

    async def blocked_sender() -> None:
        try:
            await channel.send(1)
        except sk.ChannelClosedError:
            outcome.append("refused")

    async with anyio.create_task_group() as tg:
        tg.start_soon(blocked_sender)
        await anyio.sleep(1)
        channel.close()
        await anyio.sleep(1)
        assert outcome == ["refused"]
    assert await channel.list() == [0]


# -- push ------------------------------------------------------------------------------------------


async def test_push_is_re_runnable() -> None:
    runs = 0

    async def ticks(channel: sk.Channel[int]) -> None:
        nonlocal runs
        runs += 1
        for n in range(3):
            await channel.send(n)
            await channel.wait(0.5)

    stream = sk.push(ticks)
    assert await stream.list() == [0, 1, 2]
    assert await stream.list() == [0, 1, 2]
    assert runs == 2


async def test_push_empty_and_error() -> None:
    async def nothing(channel: sk.Channel[int]) -> None:
        pass

    async def fails(channel: sk.Channel[int]) -> None:
        await channel.send(1)
        raise Boom("producer failed")

    assert await sk.push(nothing).list() == []
    got = []
    with pytest.raises(Boom):
        async for item in sk.push(fails):
            got.append(item)
    assert got == [1]


@pytest.mark.parametrize("how", ["early-stop", "cancel"])
async def test_push_stops_the_producer_before_control_returns(how: str) -> None:
    log: list[str] = []

    async def forever(channel: sk.Channel[int]) -> None:
        try:
            n = 0
            while True:
                await channel.send(n)
                n += 1
                await anyio.sleep(1)
        finally:
            log.append("producer closed")

    if how == "early-stop":
        async with sk.push(forever).open() as items:
            async for item in items:
                if item == 2:
                    break
    else:
        with anyio.move_on_after(2.5):
            async for _ in sk.push(forever) | sk.map(str):
                pass
    assert log == ["producer closed"]


async def test_iterate_a_long_sync_source_lets_other_tasks_run_and_is_cancellable() -> None:
    # A sync source never awaits; iterate() still checkpoints every so many items, so a
    # sibling task gets to run and its cancellation reaches the consumer.
    seen = 0
    scope = anyio.CancelScope()

    async def cancel_after_a_while() -> None:
        while seen < 10_000:
            await anyio.lowlevel.checkpoint()
        scope.cancel()

    async with anyio.create_task_group() as tg:
        tg.start_soon(cancel_after_a_while)
        with scope:
            async for _ in sk.iterate(itertools.count()) | sk.map(str):
                seen += 1
                if seen > 1_000_000:
                    pytest.fail("the sibling task never ran")
    assert scope.cancelled_caught
    assert 10_000 <= seen < 20_000
