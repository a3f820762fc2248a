"""share(): one run of the source, many consumers (virtual clock, asyncio and trio)."""

from __future__ import annotations

import itertools
import random
from collections.abc import AsyncIterator

import anyio
import pytest

import streamkit as sk
from streamkit._core.share import ConsumerLagError, Shared, share
from streamkit.testing import SourceTracker, record

TOKENS = ["The", " answer", " is", " forty", "-two", "."]


class FakeLLM:
    """An LLM-shaped source: one token every ``gap`` seconds; counts its runs and its cleanups."""

    def __init__(self, tokens: list[str] = TOKENS, gap: float = 0.25) -> None:
        self.tokens = tokens
        self.gap = gap
        self.runs = 0
        self.closed_at: list[float] = []

    async def stream(self) -> AsyncIterator[str]:
        self.runs += 1
        try:
            for token in self.tokens:
                await anyio.sleep(self.gap)
                yield token
        finally:
            self.closed_at.append(anyio.current_time())


def counting(limit: int | None = None, gap: float = 1.0) -> sk.Stream[int]:
    """0, 1, 2, ... one every ``gap`` seconds (the first after ``gap``)."""

    async def numbers() -> AsyncIterator[int]:
        n = 0
        while limit is None or n < limit:
            await anyio.sleep(gap)
            yield n
            n += 1

    return sk.Stream(numbers)


async def test_two_consumers_see_identical_items_from_one_run_of_the_source() -> None:
    llm = FakeLLM()
    answer = sk.Stream(llm.stream) | share()
    timelines: dict[str, list[tuple[float, str]]] = {}

    async def read(name: str) -> None:
        timelines[name] = await record(answer)

    async with anyio.create_task_group() as tg:
        tg.start_soon(read, "tab 1")
        tg.start_soon(read, "tab 2")

    assert [token for _, token in timelines["tab 1"]] == TOKENS
    assert timelines["tab 1"] == timelines["tab 2"]  # same items at the same instants
    assert timelines["tab 1"][0] == (0.25, "The")
    assert llm.runs == 1
    assert llm.closed_at == [1.5]


async def test_a_consumer_that_joins_later_sees_the_items_read_from_then_on() -> None:
    llm = FakeLLM()
    answer = sk.Stream(llm.stream) | share()
    seen: dict[str, list[str]] = {}

    async def read(name: str, after: float) -> None:
        await anyio.sleep(after)
        seen[name] = await answer.list()

    async with anyio.create_task_group() as tg:
        tg.start_soon(read, "early", 0.0)
        tg.start_soon(read, "late", 0.6)  # after "The" (0.25) and " answer" (0.5)

    assert seen["early"] == TOKENS
    assert seen["late"] == TOKENS[2:]
    assert llm.runs == 1


async def test_replay_gives_a_late_joiner_the_last_n_items_first() -> None:
    llm = FakeLLM()
    answer = sk.Stream(llm.stream) | share(replay=3)
    late: list[tuple[float, str]] = []

    async def read_late() -> None:
        await anyio.sleep(1.1)  # four tokens read by then
        late.extend(await record(answer))

    async with anyio.create_task_group() as tg:
        tg.start_soon(answer.list)
        tg.start_soon(read_late)

    # The three latest at once when joining (at 1.1), then the rest live (at 1.25 and 1.5).
    assert late == [
        (0.0, " answer"),
        (0.0, " is"),
        (0.0, " forty"),
        (pytest.approx(0.15), "-two"),
        (pytest.approx(0.4), "."),
    ]
    assert llm.runs == 1


async def test_replay_lets_a_consumer_see_a_finished_run_it_joins_within_grace() -> None:
    llm = FakeLLM()
    answer = sk.Stream(llm.stream) | share(replay=100, grace=10.0)
    assert await answer.list() == TOKENS  # the run ends at 1.5
    await anyio.sleep(5.0)
    assert await answer.list() == TOKENS  # replayed; no second model call
    assert llm.runs == 1
    await anyio.sleep(10.0)  # the finished run is forgotten after grace
    assert await answer.list() == TOKENS
    assert llm.runs == 2


async def test_the_last_consumer_leaving_closes_the_upstream_before_its_block_ends() -> None:
    llm = FakeLLM()
    answer = sk.Stream(llm.stream) | share()
    async with answer.open() as first, answer.open() as second:
        assert await anext(first) == "The"
        assert await anext(second) == " answer"  # a consumer joins when it first asks for an item
        await first.aclose()
        assert llm.closed_at == []  # one consumer is still reading
        assert await anext(second) == " is"
    assert llm.closed_at == [0.75]  # the source's finally ran when the last one left
    assert not answer.running
    assert answer.consumers == 0


async def test_take_on_a_shared_stream_leaves_and_closes_the_source() -> None:
    llm = FakeLLM()
    answer = sk.Stream(llm.stream) | share()
    assert await (answer | sk.take(2)).list() == TOKENS[:2]
    assert llm.closed_at == [0.5]


async def test_plain_async_for_reads_a_shared_stream_on_both_backends() -> None:
    llm = FakeLLM()
    answer = sk.Stream(llm.stream) | share()
    tokens = []
    async for token in answer:
        tokens.append(token)
    assert tokens == TOKENS
    assert llm.closed_at == [1.5]


async def test_piping_a_shared_stream_gives_more_consumers_of_the_same_run() -> None:
    llm = FakeLLM()
    answer = sk.Stream(llm.stream) | share()
    upper = answer | sk.map(str.upper)
    results: dict[str, list[str]] = {}

    async def read(name: str, stream: sk.Stream[str]) -> None:
        results[name] = await stream.list()

    async with anyio.create_task_group() as tg:
        tg.start_soon(read, "plain", answer)
        tg.start_soon(read, "upper", upper)
    assert results["upper"] == [t.upper() for t in results["plain"]] == [t.upper() for t in TOKENS]
    assert llm.runs == 1


def test_a_shared_framed_stream_keeps_its_framing_marks_for_the_sinks() -> None:
    framing = sk.Framing(media_type="text/event-stream", keepalive=b":\n\n")
    framed = sk.iterate([b"data: 1\n\n"]).framed(framing)
    shared = framed | share()
    assert shared.framing is framing
    assert shared.consumer(overflow="drop_oldest").framing is framing
    assert (sk.iterate([1]) | share()).framing is None


async def test_the_next_consumer_after_the_run_closed_starts_a_fresh_run() -> None:
    llm = FakeLLM()
    answer = sk.Stream(llm.stream) | share()
    assert await answer.first() == "The"
    assert await answer.first() == "The"
    assert llm.runs == 2
    assert llm.closed_at == [0.25, 0.5]


# -- slow consumers ---------------------------------------------------------------------


async def _fast_and_slow(shared: Shared[int], slow: sk.Stream[int] | None = None) -> tuple[list[tuple[float, int]], list[int] | BaseException]:
    """A fast consumer records its timeline; a slow one sleeps 1 s per item."""
    fast: list[tuple[float, int]] = []
    slow_items: list[int] = []
    outcome: list[BaseException] = []

    async def read_fast() -> None:
        fast.extend(await record(shared))

    async def read_slow() -> None:
        try:
            async with (slow or shared).open() as items:
                async for item in items:
                    slow_items.append(item)
                    await anyio.sleep(1.0)
        except ConsumerLagError as error:
            outcome.append(error)

    async with anyio.create_task_group() as tg:
        tg.start_soon(read_slow)
        tg.start_soon(read_fast)
    return fast, (outcome[0] if outcome else slow_items)


async def test_wait_policy_paces_the_source_to_the_slowest_consumer() -> None:
    tracker = SourceTracker()
    shared = tracker.track(counting(8, gap=0.1)) | share(buffer=2, overflow="wait")
    fast, slow = await _fast_and_slow(shared)
    assert slow == list(range(8))
    assert [item for _, item in fast] == list(range(8))
    # Items 0..3 flow at the source's pace: the slow one holds 0 and buffers 1 and 2; 3 goes to
    # the fast one while the pump waits for room at the slow one (at 1.1, when it takes 1). From
    # then on the source (0.1 s per item) runs once per slow step of 1 s.
    assert [round(t, 6) for t, _ in fast] == [0.1, 0.2, 0.3, 0.4, 1.2, 2.2, 3.2, 4.2]
    assert tracker.started == tracker.closed == 1


async def test_drop_oldest_policy_keeps_the_source_at_full_speed_and_the_slow_one_gets_the_latest() -> None:
    tracker = SourceTracker()
    shared = tracker.track(counting(8, gap=0.1)) | share(buffer=2, overflow="drop_oldest")
    fast, slow = await _fast_and_slow(shared)
    assert fast == [(pytest.approx(0.1 * (n + 1)), n) for n in range(8)]  # never held back
    # Reading 0 at 0.1, it next wakes at 1.1: by then 1..7 arrived and only the newest two remain.
    assert slow == [0, 6, 7]
    assert tracker.started == tracker.closed == 1


async def test_drop_newest_policy_keeps_what_the_slow_consumer_had_buffered() -> None:
    tracker = SourceTracker()
    shared = tracker.track(counting(8, gap=0.1)) | share(buffer=2, overflow="drop_newest")
    fast, slow = await _fast_and_slow(shared)
    assert [item for _, item in fast] == list(range(8))
    assert fast[-1][0] == pytest.approx(0.8)
    assert slow == [0, 1, 2]


async def test_error_policy_ends_only_the_lagging_consumer_with_a_clear_error() -> None:
    tracker = SourceTracker()
    shared = tracker.track(counting(8, gap=0.1)) | share(buffer=2, overflow="error")
    fast, slow = await _fast_and_slow(shared)
    assert fast == [(pytest.approx(0.1 * (n + 1)), n) for n in range(8)]
    assert isinstance(slow, ConsumerLagError)
    assert "fell behind by more than 2 items" in str(slow)


async def test_error_policy_delivers_the_buffered_items_before_the_error() -> None:
    shared = counting(8, gap=0.1) | share(buffer=2, overflow="error")
    slow_items: list[int] = []

    async def read_slow() -> None:
        async with shared.open() as items:
            async for item in items:
                slow_items.append(item)
                await anyio.sleep(1.0)

    async with anyio.create_task_group() as tg:
        tg.start_soon(shared.list)
        with pytest.raises(ConsumerLagError):
            await read_slow()
    assert slow_items == [0, 1, 2]  # in hand, then the two buffered


async def test_each_consumer_can_have_its_own_buffer_and_policy() -> None:
    tracker = SourceTracker()
    shared = tracker.track(counting(8, gap=0.1)) | share(buffer=2, overflow="wait")
    dropping = shared.consumer(buffer=1, overflow="drop_oldest")
    fast, slow = await _fast_and_slow(shared, slow=dropping)
    assert fast == [(pytest.approx(0.1 * (n + 1)), n) for n in range(8)]  # the slow one does not hold it back
    assert slow == [0, 7]


async def test_dropping_policies_let_consumers_run_even_if_the_source_never_waits() -> None:
    endless = sk.iterate(itertools.count()) | share(buffer=2, overflow="drop_oldest")
    firsts = await (endless | sk.take(3)).list()  # returns: the pump does not starve the consumer
    assert len(firsts) == 3 and firsts == sorted(set(firsts))


# -- grace -------------------------------------------------------------------------------


async def test_grace_closes_the_upstream_exactly_grace_seconds_after_the_last_consumer_left() -> None:
    tracker = SourceTracker()
    shared = tracker.track(counting(gap=1.0)) | share(grace=5.0)
    assert await (shared | sk.take(2)).list() == [0, 1]  # leaves at t=2
    assert shared.running
    await anyio.sleep(4.999)
    assert tracker.closed == 0
    await anyio.sleep(0.001)
    await anyio.lowlevel.checkpoint()
    assert tracker.closed == 1
    assert not shared.running


async def test_a_consumer_coming_back_within_grace_continues_the_same_run() -> None:
    tracker = SourceTracker()
    shared = tracker.track(counting(gap=1.0)) | share(grace=5.0)
    assert await (shared | sk.take(2)).list() == [0, 1]  # leaves at t=2
    await anyio.sleep(3.0)
    # Nobody was reading, so the source was not read past the item in hand.
    assert tracker.events.count("item") <= 3
    assert await (shared | sk.take(2)).list() == [2, 3]
    assert tracker.started == 1
    await anyio.sleep(5.5)  # left again at 6: closed at 11
    assert tracker.started == tracker.closed == 1


async def test_grace_zero_by_default_closes_at_once() -> None:
    tracker = SourceTracker()
    shared = tracker.track(counting(gap=1.0)) | share()
    assert await (shared | sk.take(1)).list() == [0]
    assert tracker.closed == 1


# -- joins and leaves at any time --------------------------------------------------------


@pytest.mark.parametrize("seed", range(6))
async def test_random_joins_and_leaves_see_contiguous_runs_and_never_overlap_runs(seed: int) -> None:
    rng = random.Random(seed)
    tracker = SourceTracker()
    shared = tracker.track(counting(gap=0.1)) | share(buffer=3, grace=rng.choice([0.0, 0.35]), replay=rng.choice([0, 4]))
    seen: list[list[int]] = []

    async def consumer(join_at: float, count: int) -> None:
        await anyio.sleep(join_at)
        items = await (shared | sk.take(count)).list()
        seen.append(items)

    async with anyio.create_task_group() as tg:
        for _ in range(25):
            tg.start_soon(consumer, round(rng.uniform(0, 5), 1), rng.randint(1, 12))
    await anyio.sleep(1.0)  # past any grace

    assert len(seen) == 25
    for items in seen:
        # Replayed, then live: nothing skipped or repeated.
        assert items == list(range(items[0], items[0] + len(items)))
    tracker.assert_all_closed()
    # A new run of the source starts only after the previous one has closed.
    runs = [event for event in tracker.events if event != "item"]
    assert runs == ["start", "close"] * tracker.started
    assert shared.consumers == 0 and not shared.running


async def test_a_consumer_joining_while_the_last_one_closes_the_source_waits_for_that_cleanup() -> None:
    events: list[tuple[str, float]] = []

    async def slow_to_close() -> AsyncIterator[int]:
        events.append(("start", anyio.current_time()))
        try:
            n = 0
            while True:
                await anyio.sleep(1.0)
                yield n
                n += 1
        finally:
            with anyio.CancelScope(shield=True):
                await anyio.sleep(1.0)  # e.g. telling a server the request is cancelled
            events.append(("closed", anyio.current_time()))

    shared = sk.Stream(slow_to_close) | share()
    second: list[tuple[float, int]] = []

    async def join_during_cleanup() -> None:
        await anyio.sleep(1.5)
        second.extend(await record(shared | sk.take(1)))

    async with anyio.create_task_group() as tg:
        tg.start_soon(join_during_cleanup)
        assert await (shared | sk.take(1)).list() == [0]  # leaves at 1.0, cleanup until 2.0

    assert events == [("start", 0.0), ("closed", 2.0), ("start", 2.0), ("closed", 4.0)]
    assert second == [(1.5, 0)]  # joined at 1.5; the fresh run's first item came at 3.0


async def test_join_and_leave_at_the_same_instant() -> None:
    tracker = SourceTracker()
    shared = tracker.track(counting(gap=1.0)) | share()
    results: list[list[int]] = []

    async def read(delay: float, count: int) -> None:
        await anyio.sleep(delay)
        results.append(await (shared | sk.take(count)).list())

    async with anyio.create_task_group() as tg:
        tg.start_soon(read, 0.0, 2)  # leaves at t=2
        tg.start_soon(read, 2.0, 2)  # joins at t=2
    first, second = results
    assert first == [0, 1]
    # Joining at the instant item 1 is read and the other leaves: it joins before the read, or
    # after it (the run goes on), or after the run closed (a fresh run); never a gap or overlap.
    assert second in ([1, 2], [2, 3], [0, 1])
    tracker.assert_all_closed()
    assert [e for e in tracker.events if e != "item"] == ["start", "close"] * tracker.started


# -- errors and closing ------------------------------------------------------------------


class UpstreamBroke(Exception):
    pass


async def test_an_upstream_error_reaches_every_consumer_with_its_type() -> None:
    async def failing() -> AsyncIterator[int]:
        yield 1
        await anyio.sleep(1.0)
        raise UpstreamBroke("model overloaded")

    shared = sk.Stream(failing) | share()
    errors: list[BaseException] = []

    async def read() -> None:
        items = []
        try:
            async for item in shared:
                items.append(item)
        except UpstreamBroke as error:
            errors.append(error)
        assert items == [1]

    async with anyio.create_task_group() as tg:
        tg.start_soon(read)
        tg.start_soon(read)
    assert len(errors) == 2 and all(str(e) == "model overloaded" for e in errors)


async def test_a_late_joiner_within_grace_gets_the_replay_then_the_error() -> None:
    async def failing() -> AsyncIterator[int]:
        yield 1
        raise UpstreamBroke("boom")

    shared = sk.Stream(failing) | share(replay=5, grace=1.0)
    with pytest.raises(UpstreamBroke):
        await shared.list()
    got: list[int] = []
    with pytest.raises(UpstreamBroke):
        async for item in shared:
            got.append(item)
    assert got == [1]


async def test_aclose_ends_every_consumer_and_closes_the_source() -> None:
    tracker = SourceTracker()
    shared = tracker.track(counting(gap=1.0)) | share()
    seen: list[list[int]] = []

    async def read() -> None:
        seen.append(await shared.list())

    async with anyio.create_task_group() as tg:
        tg.start_soon(read)
        tg.start_soon(read)
        await anyio.sleep(2.5)
        await shared.aclose()
        assert tracker.closed == 1  # cleanup done when aclose() returns
    assert seen == [[0, 1], [0, 1]]
    assert await (shared | sk.take(1)).list() == [0]  # a fresh run
    assert tracker.started == tracker.closed == 2


async def test_run_close_from_another_task_ends_one_consumer_only() -> None:
    tracker = SourceTracker()
    shared = tracker.track(counting(limit=6, gap=1.0)) | share()
    stopped: list[int] = []
    other: list[int] = []

    async def read_other() -> None:
        other.extend(await shared.list())

    async with anyio.create_task_group() as tg:
        tg.start_soon(read_other)
        async with shared.open() as items:
            tg.start_soon(_close_later, items, 2.5)
            async for item in items:
                stopped.append(item)
    assert stopped == [0, 1]
    assert other == [0, 1, 2, 3, 4, 5]
    assert tracker.started == tracker.closed == 1


async def _close_later(run: sk.Run[int], delay: float) -> None:
    await anyio.sleep(delay)
    run.close()


async def test_aclose_with_no_run_is_a_no_op() -> None:
    await (sk.iterate([1]) | share()).aclose()


def test_bad_arguments_are_named() -> None:
    with pytest.raises(ValueError, match="share\\(buffer\\) must be >= 1"):
        share(buffer=0)
    with pytest.raises(ValueError, match="share\\(overflow=...\\) must be one of 'wait', 'drop_oldest', 'drop_newest', 'error', got 'latest'"):
        share(overflow="latest")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="share\\(replay\\) must be >= 0"):
        share(replay=-1)
    with pytest.raises(ValueError, match="share\\(grace\\) must be >= 0 seconds"):
        share(grace=-1)
    with pytest.raises(TypeError, match="share\\(\\) needs a stream or async iterable, got \\[1, 2\\]"):
        Shared([1, 2])  # type: ignore[arg-type]
    shared = sk.iterate([1]) | share()
    with pytest.raises(ValueError, match="consumer\\(overflow=...\\)"):
        shared.consumer(overflow="drop")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="consumer\\(buffer\\) must be an int"):
        shared.consumer(buffer=1.5)  # type: ignore[arg-type]


async def test_grace_can_be_infinite_until_aclose() -> None:
    tracker = SourceTracker()
    shared = tracker.track(counting(gap=1.0)) | share(grace=float("inf"))
    assert await (shared | sk.take(1)).list() == [0]
    await anyio.sleep(1000)
    assert shared.running and tracker.closed == 0
    await shared.aclose()
    assert tracker.closed == 1


async def test_consumers_and_running_report_the_current_run() -> None:
    shared = counting(gap=1.0) | share()
    assert shared.consumers == 0 and not shared.running
    async with shared.open() as a, shared.open() as b:
        await anext(a)
        await anext(b)
        assert shared.consumers == 2 and shared.running
        assert "2 consumer(s)" in repr(shared)
    assert shared.consumers == 0 and not shared.running
