"""Every time-based operator on the virtual clock, with exact emission times.

Minutes of virtual time pass in milliseconds of real time; the times asserted are exact floats
(all of them are sums of binary fractions, so no rounding is involved).
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from typing import Any

import anyio
import pytest

import streamkit as sk
from tests.core.core_helpers import Boom, Kit
from streamkit.testing import record


def at(*events: tuple[float, Any], end: float | None = None, error: bool = False) -> sk.Stream[Any]:
    """Emit each ``(t, value)`` at ``t`` seconds after the run starts; end (or raise Boom) at ``end``."""

    async def run() -> AsyncIterator[Any]:
        start = anyio.current_time()
        for t, value in events:
            await anyio.sleep_until(start + t)
            yield value
        if end is not None:
            await anyio.sleep_until(start + end)
        if error:
            raise Boom("source failed")

    return sk.Stream(run)


async def timeline(stream: sk.Stream[Any]) -> tuple[list[tuple[float, Any]], float, BaseException | None]:
    """``(items with their times, time the stream ended, the error it ended with or None)``."""
    start = anyio.current_time()
    items: list[tuple[float, Any]] = []
    error: BaseException | None = None
    try:
        async with stream.open() as run:
            async for item in run:
                items.append((anyio.current_time() - start, item))
    except Exception as exc:
        error = exc
    return items, anyio.current_time() - start, error


# -- the headline: a ten-minute throttle in milliseconds ------------------------------------------


async def test_ten_minute_throttle_finishes_in_milliseconds() -> None:
    real_start = time.perf_counter()
    got = await record(sk.interval(60) | sk.throttle(600) | sk.take(3))
    assert got == [(60.0, 0), (660.0, 10), (1260.0, 20)]
    assert time.perf_counter() - real_start < 2  # 21 virtual minutes; generous for a loaded machine


# -- throttle --------------------------------------------------------------------------------------

BURSTY = at((0, "a"), (0.25, "b"), (0.5, "c"), (1.5, "d"), (2.25, "e"), end=4)


async def test_throttle_leading() -> None:
    items, ended, _ = await timeline(BURSTY | sk.throttle(1))
    assert items == [(0, "a"), (1.5, "d")]
    assert ended == 4


async def test_throttle_leading_and_trailing() -> None:
    # a opens [0, 1); c is the latest in it and goes out at 1, opening [1, 2): d waits for 2,
    # opening [2, 3): e waits for 3.
    items, ended, _ = await timeline(BURSTY | sk.throttle(1, trailing=True))
    assert items == [(0, "a"), (1, "c"), (2, "d"), (3, "e")]
    assert ended == 4


async def test_throttle_trailing_only() -> None:
    items, _, _ = await timeline(BURSTY | sk.throttle(1, leading=False, trailing=True))
    assert items == [(1, "c"), (2, "d"), (3, "e")]


async def test_throttle_trailing_item_goes_out_at_once_when_the_source_ends() -> None:
    items, ended, _ = await timeline(at((0, "a"), (0.25, "b"), end=0.5) | sk.throttle(10, trailing=True))
    assert items == [(0, "a"), (0.5, "b")]
    assert ended == 0.5


# -- debounce --------------------------------------------------------------------------------------


async def test_debounce() -> None:
    source = at((0, "a"), (0.25, "b"), (0.5, "c"), (2, "d"), (2.25, "e"), end=5)
    items, ended, _ = await timeline(source | sk.debounce(0.5))
    assert items == [(1.0, "c"), (2.75, "e")]
    assert ended == 5


async def test_debounce_emits_the_waiting_item_at_the_end_of_the_source() -> None:
    items, ended, _ = await timeline(at((0, "a"), (0.25, "b"), end=0.5) | sk.debounce(10))
    assert items == [(0.5, "b")]
    assert ended == 0.5


async def test_debounce_drops_the_waiting_item_on_error() -> None:
    items, ended, error = await timeline(at((0, "a"), end=0.25, error=True) | sk.debounce(10))
    assert items == []
    assert isinstance(error, Boom)
    assert ended == 0.25


# -- sample ----------------------------------------------------------------------------------------


async def test_sample() -> None:
    source = at((0.5, "a"), (0.75, "b"), (2.5, "c"), end=4.25)
    items, ended, _ = await timeline(source | sk.sample(1))
    assert items == [(1, "b"), (3, "c")]  # nothing new at 2 and 4: nothing emitted
    assert ended == 4.25


async def test_sample_emits_the_unsampled_item_at_the_end() -> None:
    items, _, _ = await timeline(at((0.5, "a"), (1.25, "b"), end=1.5) | sk.sample(1))
    assert items == [(1, "a"), (1.5, "b")]


# -- batch -----------------------------------------------------------------------------------------


async def test_batch_by_size() -> None:
    items, _, _ = await timeline(at((0, 1), (1, 2), (2, 3), (3, 4), (4, 5), end=5) | sk.batch(2))
    assert items == [(1, [1, 2]), (3, [3, 4]), (5, [5])]


async def test_batch_by_time() -> None:
    # A batch is due max_wait after its first item; an idle gap emits nothing.
    source = at((0, 1), (0.5, 2), (1.75, 3), (5, 4), end=8)
    items, ended, _ = await timeline(source | sk.batch(max_wait=1))
    assert items == [(1, [1, 2]), (2.75, [3]), (6, [4])]
    assert ended == 8


async def test_batch_by_size_and_time() -> None:
    source = at((0, 1), (0.25, 2), (0.5, 3), (1, 4), (5, 5), end=8)
    items, _, _ = await timeline(source | sk.batch(3, max_wait=2))
    assert items == [(0.5, [1, 2, 3]), (3, [4]), (7, [5])]


async def test_batch_emits_the_partial_batch_before_a_source_error() -> None:
    for step in (sk.batch(5), sk.batch(max_wait=10), sk.batch(5, max_wait=10)):
        items, ended, error = await timeline(at((0, 1), (1, 2), end=1.5, error=True) | step)
        assert items == [(1.5, [1, 2])]
        assert isinstance(error, Boom)


# -- timeout ---------------------------------------------------------------------------------------


async def test_timeout_gap() -> None:
    items, ended, error = await timeline(at((1, "a"), (2.5, "b"), (5, "c")) | sk.timeout(2))
    assert items == [(1, "a"), (2.5, "b")]
    assert isinstance(error, TimeoutError)
    assert "no item for 2 s" in str(error)
    assert ended == 4.5


async def test_timeout_gap_counts_from_the_start() -> None:
    items, ended, error = await timeline(at((3, "a")) | sk.timeout(2))
    assert items == []
    assert isinstance(error, TimeoutError)
    assert ended == 2


async def test_timeout_total() -> None:
    items, ended, error = await timeline(at((1, 1), (2, 2), (3, 3), (4, 4)) | sk.timeout(total=3.5))
    assert items == [(1, 1), (2, 2), (3, 3)]
    assert isinstance(error, TimeoutError)
    assert "longer than 3.5 s" in str(error)
    assert ended == 3.5


async def test_timeout_gap_and_total() -> None:
    source = at((1, 1), (2, 2), (3, 3), (4, 4), (5, 5))
    items, ended, error = await timeline(source | sk.timeout(1.5, total=4.5))
    assert [item for _, item in items] == [1, 2, 3, 4]
    assert isinstance(error, TimeoutError) and ended == 4.5


async def test_timeout_does_not_count_the_consumers_time() -> None:
    got = []
    async with (at((1, "a"), (2, "b"), end=3) | sk.timeout(1.5)).open() as items:
        async for item in items:
            got.append(item)
            await anyio.sleep(10)  # slow consumer: the gap restarts when it asks again
    assert got == ["a", "b"]


async def test_timeout_closes_the_source_before_raising() -> None:
    kit = Kit()
    async with (kit.source([1], gap=1, then="hang") | sk.timeout(5)).open() as items:
        with pytest.raises(TimeoutError):
            async for _ in items:
                pass
        kit.assert_closed()


# -- spaceout and delay ----------------------------------------------------------------------------


async def test_spaceout() -> None:
    items, _, _ = await timeline(at((0, "a"), (0, "b"), (0, "c"), (5, "d"), (5.25, "e")) | sk.spaceout(1))
    assert items == [(0, "a"), (1, "b"), (2, "c"), (5, "d"), (6, "e")]


async def test_delay_shifts_items_and_the_end() -> None:
    items, ended, _ = await timeline(at((0, "a"), (0.5, "b"), (3, "c"), end=4) | sk.delay(2))
    assert items == [(2, "a"), (2.5, "b"), (5, "c")]
    assert ended == 6


async def test_delay_shifts_the_error() -> None:
    items, ended, error = await timeline(at((0, "a"), end=1, error=True) | sk.delay(2))
    assert items == [(2, "a")]
    assert isinstance(error, Boom)
    assert ended == 3


async def test_delay_backpressure_never_drops() -> None:
    source = at(*[(0, n) for n in range(5)])
    items, _, _ = await timeline(source | sk.delay(1, max_buffer=2))
    assert [item for _, item in items] == [0, 1, 2, 3, 4]
    assert items[0][0] == 1


# -- heartbeat -------------------------------------------------------------------------------------


async def test_heartbeat() -> None:
    source = at((0.5, "a"), (2.75, "b"), (3, "c"), end=4.5)
    items, ended, _ = await timeline(source | sk.heartbeat(1, "hb"))
    assert items == [(0.5, "a"), (1.5, "hb"), (2.5, "hb"), (2.75, "b"), (3, "c"), (4, "hb")]
    assert ended == 4.5


async def test_heartbeat_counts_from_when_a_slow_consumer_asks_again() -> None:
    got = []
    start = anyio.current_time()
    async with (at((0, "a"), end=10) | sk.heartbeat(1, "hb") | sk.take(3)).open() as items:
        async for item in items:
            got.append((anyio.current_time() - start, item))
            await anyio.sleep(0.5)
    assert got == [(0, "a"), (1.5, "hb"), (3, "hb")]


# -- time sources ----------------------------------------------------------------------------------


async def test_interval() -> None:
    assert await record(sk.interval(0.5) | sk.take(3)) == [(0.5, 0), (1, 1), (1.5, 2)]
    assert await record(sk.interval(0.5, immediate=True) | sk.take(3)) == [(0, 0), (0.5, 1), (1, 2)]


async def test_interval_skips_ticks_missed_by_a_slow_consumer_without_drift() -> None:
    got = []
    start = anyio.current_time()
    async with (sk.interval(1) | sk.take(4)).open() as items:
        async for tick in items:
            got.append((anyio.current_time() - start, tick))
            if tick == 0:
                await anyio.sleep(2.5)  # misses the ticks at 2 and 3
    assert got == [(1, 0), (4, 1), (5, 2), (6, 3)]


async def test_timer_and_wait() -> None:
    assert await record(sk.timer(2.5, "ring")) == [(2.5, "ring")]
    assert await record(sk.timer(1)) == [(1, None)]
    start = anyio.current_time()
    await sk.wait(90)
    assert anyio.current_time() - start == 90


# -- take_until with every trigger -----------------------------------------------------------------


async def test_take_until_deadline() -> None:
    items, ended, error = await timeline(sk.interval(1) | sk.take_until(2.5))
    assert (items, ended, error) == ([(1, 0), (2, 1)], 2.5, None)


async def test_take_until_event() -> None:
    event = anyio.Event()

    async def set_later() -> None:
        await anyio.sleep(2.5)
        event.set()

    async with anyio.create_task_group() as tg:
        tg.start_soon(set_later)
        items, ended, error = await timeline(sk.interval(1) | sk.take_until(event))
    assert (items, ended, error) == ([(1, 0), (2, 1)], 2.5, None)


async def test_take_until_event_already_set_emits_nothing() -> None:
    event = anyio.Event()
    event.set()
    kit = Kit()
    assert await (kit.source() | sk.take_until(event)).list() == []
    kit.assert_closed()


async def test_take_until_stream() -> None:
    kit = Kit()
    items, ended, error = await timeline(sk.interval(1) | sk.take_until(kit.source(["stop"], gap=2.5, then="hang")))
    assert (items, ended, error) == ([(1, 0), (2, 1)], 2.5, None)
    kit.assert_closed()


async def test_take_until_stream_that_ends_without_an_item_never_fires() -> None:
    items, ended, _ = await timeline(at((1, "a"), (5, "b")) | sk.take_until(sk.empty()))
    assert items == [(1, "a"), (5, "b")]


async def test_take_until_stream_error_ends_the_stream_with_it() -> None:
    items, ended, error = await timeline(sk.interval(1) | sk.take_until(at(end=2.5, error=True)))
    assert items == [(1, 0), (2, 1)]
    assert isinstance(error, Boom)
    assert ended == 2.5


async def test_take_until_function_is_called_afresh_every_run() -> None:
    calls = []

    async def stop_after() -> None:
        calls.append(anyio.current_time())
        await anyio.sleep(2.5)

    stream = sk.interval(1) | sk.take_until(stop_after)
    assert await record(stream) == [(1, 0), (2, 1)]
    assert await record(stream) == [(1, 0), (2, 1)]
    assert len(calls) == 2


async def test_take_until_deadline_counts_from_each_run() -> None:
    stream = sk.interval(1) | sk.take_until(1.5)
    assert await record(stream) == [(1, 0)]
    await anyio.sleep(100)
    assert await record(stream) == [(1, 0)]


async def test_take_until_stops_an_idle_source() -> None:
    # The source waits an hour for its next item; the deadline still ends the run on time.
    kit = Kit()
    items, ended, _ = await timeline(kit.source([1, 2], gap=3600) | sk.take_until(10.0))
    assert (items, ended) == ([], 10)
    kit.assert_closed()


# -- retry backoff ---------------------------------------------------------------------------------


async def test_retry_backoff_times() -> None:
    starts: list[float] = []

    async def failing() -> AsyncIterator[int]:
        starts.append(anyio.current_time())
        yield 1
        raise Boom("again")

    stream = sk.Stream(failing) | sk.retry(4, backoff=1, factor=2, max_backoff=3)
    items, ended, error = await timeline(stream)
    assert isinstance(error, Boom)
    assert [t for t, _ in items] == [0, 1, 3, 6, 9]  # waits 1, 2, 3 (capped), 3
    assert starts == [0, 1, 3, 6, 9]
    assert ended == 9


async def test_retry_succeeds_on_a_later_attempt() -> None:
    attempts = 0

    async def flaky() -> AsyncIterator[str]:
        nonlocal attempts
        attempts += 1
        if attempts < 3:
            raise Boom("not yet")
        yield "ok"

    assert await record(sk.Stream(flaky) | sk.retry(5, backoff=0.5)) == [(1.5, "ok")]


async def test_retry_before_first_item_does_not_repeat_a_half_stream() -> None:
    kit = Kit()
    items, _, error = await timeline(kit.source([1, 2], then="boom") | sk.retry(3, before_first_item=True))
    assert [item for _, item in items] == [1, 2]
    assert isinstance(error, Boom)
    assert kit.runs_started == 1


async def test_retry_only_the_given_exceptions() -> None:
    kit = Kit()
    stream = kit.source([1], then="boom") | sk.retry(3, exceptions=KeyError)
    _, _, error = await timeline(stream)
    assert isinstance(error, Boom)
    assert kit.runs_started == 1


# -- combining operators in time -------------------------------------------------------------------


async def test_merge_interleaves_by_arrival() -> None:
    stream = at((0, "a"), (2, "c")) | sk.merge(at((1, "b"), (3, "d")), at((1.5, "x")))
    items, _, _ = await timeline(stream)
    assert items == [(0, "a"), (1, "b"), (1.5, "x"), (2, "c"), (3, "d")]


async def test_zip_waits_for_the_slowest() -> None:
    items, ended, _ = await timeline(at((0, "a"), (1, "b")) | sk.zip(at((2, 1), (2.5, 2), (3, 3))))
    assert items == [(2, ("a", 1)), (2.5, ("b", 2))]


async def test_chain_runs_one_after_the_other() -> None:
    items, _, _ = await timeline(at((1, "a")) | sk.chain(at((1, "b"))))
    assert items == [(1, "a"), (2, "b")]


async def test_switch_map_cancels_the_previous_inner_stream() -> None:
    kit = Kit()
    outer = at((0, 1), (1.5, 2), (5, 3), end=5)
    stream = outer | sk.switch_map(lambda n: kit.source([f"{n}a", f"{n}b"], gap=1))
    items, ended, _ = await timeline(stream)
    assert items == [(1, "1a"), (2.5, "2a"), (3.5, "2b"), (6, "3a"), (7, "3b")]
    assert ended == 7
    kit.assert_closed()
    assert kit.runs_started == 3


async def test_concurrent_map_runs_calls_at_once() -> None:
    async def slow(x: float) -> float:
        await anyio.sleep(x)
        return x

    ordered, _, _ = await timeline(sk.iterate([3, 1, 2]) | sk.map(slow, concurrency=3))
    assert ordered == [(3, 3), (3, 1), (3, 2)]
    unordered, _, _ = await timeline(sk.iterate([3, 1, 2]) | sk.map(slow, concurrency=3, ordered=False))
    assert unordered == [(1, 1), (2, 2), (3, 3)]
    one_at_a_time, _, _ = await timeline(sk.iterate([3, 1, 2]) | sk.map(slow))
    assert one_at_a_time == [(3, 3), (4, 1), (6, 2)]


async def test_concurrent_map_limits_calls_in_flight() -> None:
    running = peak = 0

    async def work(x: int) -> int:
        nonlocal running, peak
        running += 1
        peak = max(peak, running)
        await anyio.sleep(1)
        running -= 1
        return x

    items, ended, _ = await timeline(sk.iterate(range(10)) | sk.map(work, concurrency=3, ordered=False))
    assert sorted(item for _, item in items) == list(range(10))
    assert peak == 3
    assert ended == 4  # ceil(10 / 3) rounds of one second


async def test_buffer_overflow_policies_with_a_slow_consumer() -> None:
    async def burst() -> AsyncIterator[int]:
        for n in range(10):
            yield n
            await anyio.lowlevel.checkpoint()

    async def slowly(stream: sk.Stream[int]) -> tuple[list[int], BaseException | None]:
        got: list[int] = []
        try:
            async with stream.open() as items:
                async for item in items:
                    got.append(item)
                    await anyio.sleep(1)
        except Exception as exc:
            return got, exc
        return got, None

    # The consumer takes 0 at once; the buffer then holds 3 while the consumer sleeps.
    source = sk.Stream(burst)
    assert await slowly(source | sk.buffer(3)) == (list(range(10)), None)
    assert await slowly(source | sk.buffer(3, overflow="drop_newest")) == ([0, 1, 2, 3], None)
    assert await slowly(source | sk.buffer(3, overflow="drop_oldest")) == ([0, 7, 8, 9], None)
    got, error = await slowly(source | sk.buffer(3, overflow="error"))
    assert got == [0, 1, 2, 3]
    assert isinstance(error, sk.BufferOverflowError)
