"""The everyday helpers of issue 11: terminal helpers, retry before the first item, buffer
overflow policies, and streamkit.testing (virtual clock)."""

from __future__ import annotations

import operator
import time
from collections.abc import AsyncIterator

import anyio
import pytest

import streamkit as sk
from streamkit.testing import SourceTracker, VirtualTimeLoop, record, virtual_backends


def numbers(count: int, gap: float = 0.1, produced: list[tuple[float, int]] | None = None) -> sk.Stream[int]:
    async def run() -> AsyncIterator[int]:
        for n in range(count):
            await anyio.sleep(gap)
            if produced is not None:
                produced.append((round(anyio.current_time(), 6), n))
            yield n

    return sk.Stream(run)


class Broke(Exception):
    pass


# -- terminal helpers ---------------------------------------------------------------------


async def test_terminal_helpers_return_what_their_names_say() -> None:
    stream = sk.iterate([3, 1, 4, 1, 5])
    assert await stream.list() == [3, 1, 4, 1, 5]
    assert await stream.first() == 3
    assert await stream.last() == 5
    assert await stream.count() == 5
    assert await stream.reduce(operator.add) == 14
    assert await stream.reduce(lambda acc, n: acc + [n * 2], []) == [6, 2, 8, 2, 10]


async def test_first_closes_the_run_right_after_the_first_item() -> None:
    tracker = SourceTracker()
    stream = tracker.track(numbers(100, gap=0.25))
    assert await stream.first() == 0
    assert tracker.events == ["start", "item", "close"]  # nothing more was read
    assert anyio.current_time() == 0.25


async def test_empty_streams_raise_a_clear_error_where_a_value_is_required() -> None:
    empty = sk.empty()
    with pytest.raises(sk.EmptyStreamError, match="first\\(\\): the stream ended without an item"):
        await empty.first()
    with pytest.raises(sk.EmptyStreamError, match="last\\(\\): the stream ended without an item"):
        await empty.last()
    with pytest.raises(sk.EmptyStreamError, match="reduce\\(\\): the stream ended without an item and no initial value"):
        await empty.reduce(operator.add)
    assert await empty.first(default=None) is None
    assert await empty.last(default="none") == "none"
    assert await empty.reduce(operator.add, 0) == 0
    assert await empty.count() == 0
    assert await empty.list() == []
    assert issubclass(sk.EmptyStreamError, ValueError)


async def test_terminal_helpers_raise_the_sources_error_and_close_it() -> None:
    tracker = SourceTracker()

    async def failing() -> AsyncIterator[int]:
        yield 1
        raise Broke("mid-stream")

    stream = tracker.track(sk.Stream(failing))
    for helper in (stream.list(), stream.last(), stream.count(), stream.reduce(operator.add)):
        with pytest.raises(Broke, match="mid-stream"):
            await helper
    tracker.assert_all_closed()
    assert tracker.started == 4


# -- retry ------------------------------------------------------------------------------------


def flaky(fail_before_item: int, failures: int, starts: list[float]) -> sk.Stream[int]:
    """Fails its first ``failures`` runs just before item ``fail_before_item``."""

    async def run() -> AsyncIterator[int]:
        starts.append(anyio.current_time())
        for n in range(3):
            if n == fail_before_item and len(starts) <= failures:
                raise Broke(f"run {len(starts)} failed before item {n}")
            yield n

    return sk.Stream(run)


async def test_retry_replays_the_source_after_a_failure() -> None:
    starts: list[float] = []
    assert await (flaky(1, 2, starts) | sk.retry(2)).list() == [0, 0, 0, 1, 2]
    assert starts == [0.0, 0.0, 0.0]


async def test_retry_waits_with_exponential_backoff_on_the_virtual_clock() -> None:
    starts: list[float] = []
    assert await (flaky(0, 3, starts) | sk.retry(3, backoff=0.5, factor=2.0, max_backoff=1.5)).list() == [0, 1, 2]
    assert starts == [0.0, 0.5, 1.5, 3.0]  # waits 0.5, 1.0, then 2.0 capped to 1.5


async def test_retry_gives_up_after_the_last_retry_with_the_original_error() -> None:
    starts: list[float] = []
    with pytest.raises(Broke, match="run 3 failed"):
        await (flaky(0, 5, starts) | sk.retry(2)).list()
    assert len(starts) == 3


async def test_retry_before_first_item_retries_only_failures_before_any_item() -> None:
    starts: list[float] = []
    # Failing before the first item: retried.
    assert await (flaky(0, 1, starts) | sk.retry(3, before_first_item=True)).list() == [0, 1, 2]
    assert len(starts) == 2
    # Failing after an item was emitted: raised, so a half-streamed answer is never repeated.
    starts.clear()
    seen: list[int] = []
    with pytest.raises(Broke, match="run 1 failed before item 1"):
        async for item in flaky(1, 1, starts) | sk.retry(3, before_first_item=True):
            seen.append(item)
    assert seen == [0]
    assert len(starts) == 1


async def test_retry_lets_other_errors_through() -> None:
    starts: list[float] = []
    with pytest.raises(Broke):
        await (flaky(0, 1, starts) | sk.retry(3, exceptions=KeyError)).list()
    assert len(starts) == 1


def test_retry_bad_arguments_are_named() -> None:
    with pytest.raises(ValueError, match="retry\\(retries\\) must be >= 0"):
        sk.retry(-1)
    with pytest.raises(ValueError, match="retry\\(factor\\) must be a number >= 1, got 0.5"):
        sk.retry(1, factor=0.5)
    with pytest.raises(ValueError, match="retry\\(backoff\\) must be >= 0 seconds"):
        sk.retry(1, backoff=-1)


# -- buffer overflow ------------------------------------------------------------------------


async def _slowly(stream: sk.Stream[int]) -> list[tuple[float, int] | BaseException]:
    """Read 1 s per item; record (time, item), and the error that ended the stream if any."""
    seen: list[tuple[float, int] | BaseException] = []
    try:
        async with stream.open() as items:
            async for item in items:
                seen.append((round(anyio.current_time(), 6), item))
                await anyio.sleep(1.0)
    except sk.BufferOverflowError as error:
        seen.append(error)
    return seen


async def test_buffer_wait_keeps_every_item_and_paces_the_source() -> None:
    produced: list[tuple[float, int]] = []
    seen = await _slowly(numbers(6, produced=produced) | sk.buffer(2, overflow="wait"))
    assert seen == [(0.1 + n, n) for n in range(6)]
    # The source ran ahead by the buffer plus the item in the pump's hand, then waited.
    assert produced[:4] == [(0.1, 0), (0.2, 1), (0.3, 2), (0.4, 3)]
    assert produced[4:] == [(1.2, 4), (2.2, 5)]


async def test_buffer_drop_oldest_keeps_the_latest_items() -> None:
    seen = await _slowly(numbers(10) | sk.buffer(2, overflow="drop_oldest"))
    assert seen == [(0.1, 0), (1.1, 8), (2.1, 9)]


async def test_buffer_drop_newest_keeps_the_first_items() -> None:
    seen = await _slowly(numbers(10) | sk.buffer(2, overflow="drop_newest"))
    assert seen == [(0.1, 0), (1.1, 1), (2.1, 2)]


async def test_buffer_error_ends_the_stream_after_the_buffered_items() -> None:
    seen = await _slowly(numbers(10) | sk.buffer(2, overflow="error"))
    assert seen[:3] == [(0.1, 0), (1.1, 1), (2.1, 2)]
    error = seen[3]
    assert isinstance(error, sk.BufferOverflowError)
    assert str(error) == "buffer(2) overflowed: the consumer fell behind by more than 2 items"


def test_buffer_bad_arguments_are_named() -> None:
    with pytest.raises(ValueError, match="buffer\\(overflow=...\\) must be one of 'wait', 'drop_oldest', 'drop_newest', 'error', got 'newest'"):
        sk.buffer(2, overflow="newest")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="buffer\\(size\\) must be >= 1"):
        sk.buffer(0)


# -- streamkit.testing ---------------------------------------------------------------------


async def test_record_gives_each_item_with_its_virtual_time_since_the_start() -> None:
    await anyio.sleep(100)  # record counts from its own start
    assert await record(sk.interval(1.5) | sk.take(3)) == [(1.5, 0), (3.0, 1), (4.5, 2)]


async def test_source_tracker_catches_a_run_left_open() -> None:
    tracker = SourceTracker()
    stream = tracker.track([1, 2, 3])
    run = stream.open()
    assert await anext(run) == 1
    assert tracker.open_runs == 1
    with pytest.raises(AssertionError, match="1 of 1 run\\(s\\) of the tracked source were not closed"):
        tracker.assert_all_closed()
    await run.aclose()
    tracker.assert_all_closed()
    assert tracker.events == ["start", "item", "close"]


def test_the_virtual_clock_jumps_instead_of_waiting() -> None:
    async def wait_an_hour() -> float:
        await anyio.sleep(3600)
        return anyio.current_time()

    for factory in virtual_backends():
        backend, options = factory()
        started = time.perf_counter()
        now = anyio.run(wait_an_hour, backend=backend, backend_options=options)
        assert time.perf_counter() - started < 5.0
        if backend == "asyncio":
            assert now == 3600.0  # VirtualTimeLoop starts at 0
    assert [factory()[0] for factory in virtual_backends()] == ["asyncio", "trio"]
    loop = VirtualTimeLoop()
    try:
        assert loop.time() == 0.0
        loop.advance(2.5)
        assert loop.time() == 2.5
    finally:
        loop.close()
