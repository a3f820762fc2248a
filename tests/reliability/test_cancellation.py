"""Cancellation matrix: every operator that runs background work, cancelled from outside at each
point of its life, on the virtual clock so that each point is reached exactly.

Points of life (the main source yields one item per second unless said otherwise):

- ``at_start``: the scope is cancelled before the consumer asks for the first item;
- ``before_first_item``: the source has started and waits 10 s for its first item; cancel at 5 s;
- ``waiting_on_source``: two items came through, the source now waits forever; cancel at 10 s;
- ``waiting_on_consumer``: the consumer spends 1000 s on its first item while the source keeps
  producing, so items pile up inside the operator and the source waits for room; cancel at 20 s;
- ``draining``: the source yielded two items and ended (its ``finally`` ran) while the consumer
  was busy with the first, so the operator still holds items; cancel at 20 s.

Each case is consumed with ``async with stream.open()`` (the documented way to stop with
cleanup), and, where the cancellation lands while the consumer waits for an item, also with a
plain ``async for``. After the cancel scope, before anything else is awaited, the test checks:

- the cancellation was not swallowed: the scope caught it and the code after the loop did not run;
- no pump is left running (``live_pumps()`` is back where it started);
- cleanup ran inner before outer: every source run (and every other stream the operator reads,
  and every call of a user function) finished before the operator's consumer-side cleanup did,
  which itself finished before control came back here.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import anyio
import pytest

import streamkit as sk
from streamkit._core.closing import opened
from streamkit._core.tasks import live_pumps
from streamkit.testing import VirtualTimeLoop
from tests.reliability.lifecycle import Log, Then


@dataclass(frozen=True)
class Point:
    id: str
    items: tuple[int, ...]
    then: Then
    cancel_at: float | None
    """Seconds after the start; None: cancelled before the first item is asked for."""
    consumer_sleep: float = 0.0
    """Seconds the consumer spends on the first item it receives (0: it asks for the next at once)."""
    first_gap: float | None = None

    def source(self, log: Log, name: str, items: tuple[int, ...] | None = None) -> sk.Stream[Any]:
        return log.source(name, self.items if items is None else items, gap=1.0, then=self.then, first_gap=self.first_gap)


POINTS = [
    Point("at_start", (1, 2, 3), "hang", None),
    Point("before_first_item", (1, 2, 3), "hang", 5.0, first_gap=10.0),
    Point("waiting_on_source", (1, 2), "hang", 10.0),
    Point("waiting_on_consumer", tuple(range(1, 1000)), "hang", 20.0, consumer_sleep=1000.0),
    Point("draining", (1, 2), "end", 20.0, consumer_sleep=1000.0),
]


@dataclass(frozen=True)
class Case:
    id: str
    build: Callable[[Log, Point], sk.Stream[Any]]
    sources: tuple[str, ...] = ("src",)
    """Names of every source the pipeline reads (all must finish before the operator's cleanup)."""
    functions: tuple[str, ...] = ()
    """Names of user functions whose calls must all have finished too."""
    layers: tuple[str, ...] = ()
    """Inner layers (see Log.layer) that must close before the outermost one, in this order."""
    drain_items: tuple[int, ...] | None = None
    """Items of the main source at the ``draining`` point, where (1, 2) would not fit inside."""


def simple(step: Callable[[], Any]) -> Callable[[Log, Point], sk.Stream[Any]]:
    return lambda log, point: point.source(log, "src") | step()


def merged(log: Log, point: Point) -> sk.Stream[Any]:
    # Draining: merge holds one item per source, so a second source of one item fits beside (1, 2).
    other = point.source(log, "other", (1,) if point.id == "draining" else None)
    return point.source(log, "src") | sk.merge(other)


def zipped(log: Log, point: Point) -> sk.Stream[Any]:
    return point.source(log, "src") | sk.zip(point.source(log, "other"))


def until_stream(log: Log, point: Point) -> sk.Stream[Any]:
    return point.source(log, "src") | sk.take_until(log.source("trigger", [], then="hang"))


def concurrent_map(ordered: bool) -> Callable[[Log, Point], sk.Stream[Any]]:
    def build(log: Log, point: Point) -> sk.Stream[Any]:
        return point.source(log, "src") | sk.map(log.function("fn", 0.25), concurrency=3, ordered=ordered)

    return build


def switched(log: Log, point: Point) -> sk.Stream[Any]:
    def inner(x: int) -> sk.Stream[int]:
        return log.source("inner", [x * 10, x * 10 + 1], gap=0.1)

    return point.source(log, "src") | sk.switch_map(inner)


def pushed(log: Log, point: Point) -> sk.Stream[Any]:
    async def producer(channel: sk.Channel[Any]) -> None:
        async with opened(point.source(log, "src")) as items:
            async for item in items:
                await channel.send(item)

    return sk.push(producer, max_buffer=2)


def stacked(log: Log, point: Point) -> sk.Stream[Any]:
    return (
        point.source(log, "src")
        | sk.merge(point.source(log, "other"))
        | log.layer("merge")
        | sk.buffer(2)
        | log.layer("buffer")
        | sk.heartbeat(0.3, "hb")
        | log.layer("heartbeat")
        | sk.map(log.function("fn", 0.1), concurrency=2)
    )


CASES = [
    Case("merge", merged, sources=("src", "other")),
    Case("buffer-wait", simple(lambda: sk.buffer(4))),
    Case("buffer-drop-oldest", simple(lambda: sk.buffer(4, overflow="drop_oldest"))),
    Case("debounce", simple(lambda: sk.debounce(0.5))),
    Case("heartbeat", simple(lambda: sk.heartbeat(0.3, "hb"))),
    Case("take_until-stream", until_stream, sources=("src", "trigger")),
    Case("take_until-deadline", simple(lambda: sk.take_until(1000.0))),
    Case("timeout", simple(lambda: sk.timeout(100, total=1000))),
    Case("map-concurrent-ordered", concurrent_map(True), functions=("fn",)),
    Case("map-concurrent-unordered", concurrent_map(False), functions=("fn",)),
    Case("switch_map", switched, sources=("src", "inner"), drain_items=(1,)),
    Case("push", pushed),
    Case("batch-max_wait", simple(lambda: sk.batch(3, max_wait=0.5))),
    Case("sample", simple(lambda: sk.sample(0.5))),
    Case("throttle-trailing", simple(lambda: sk.throttle(0.5, trailing=True))),
    Case("zip", zipped, sources=("src", "other")),
    Case("delay", simple(lambda: sk.delay(0.5))),
    Case("stacked", stacked, sources=("src", "other"), functions=("fn",), layers=("merge", "buffer", "heartbeat")),
]

FORMS = ["open", "plain"]


def combinations() -> list[Any]:
    params = []
    for case in CASES:
        for point in POINTS:
            for form in FORMS:
                if form == "plain" and point.consumer_sleep:
                    # Cancelled in its own loop body, a plain `async for` leaves the generator to
                    # its finalizer, as in Python itself (DESIGN.md section 7): not a case here.
                    continue
                params.append(pytest.param(case, point, form, id=f"{case.id}-{point.id}-{form}"))
    return params


@dataclass
class Outcome:
    cancelled_caught: bool
    reached_after_loop: bool
    received: list[Any]
    pumps_after: int


async def consume_and_cancel(pipeline: sk.Stream[Any], point: Point, form: str) -> Outcome:
    received: list[Any] = []
    reached = False
    with anyio.CancelScope() as scope:
        if point.cancel_at is None:
            scope.cancel()
        else:
            scope.deadline = anyio.current_time() + point.cancel_at
        if form == "open":
            async with pipeline.open() as items:
                slept = False
                async for item in items:
                    received.append(item)
                    # Busy with the first real item (a heartbeat's value would not hold the source back).
                    if point.consumer_sleep and not slept and item != "hb":
                        slept = True
                        await anyio.sleep(point.consumer_sleep)
        else:
            async for item in pipeline:
                received.append(item)
        reached = True
    # Nothing is awaited between the scope's exit and these reads.
    return Outcome(scope.cancelled_caught, reached, received, live_pumps())


@pytest.mark.parametrize(("case", "point", "form"), combinations())
async def test_cancel_from_outside(case: Case, point: Point, form: str) -> None:
    log = Log()
    start_pumps = live_pumps()
    if point.id == "draining" and case.drain_items is not None:
        point = Point(point.id, case.drain_items, point.then, point.cancel_at, point.consumer_sleep)
    pipeline = case.build(log, point) | log.layer("op")
    outcome = await consume_and_cancel(pipeline, point, form)
    names = log.names  # as they were when control came back

    # Not swallowed: the scope caught the cancellation, the loop did not just end.
    assert outcome.cancelled_caught
    assert not outcome.reached_after_loop
    # No pump left running, at the moment control came back.
    assert outcome.pumps_after == start_pumps
    # Every run of every source, and every call of a user function, has finished...
    for name in case.sources:
        assert log.balanced(name), f"{name} still running: {names}"
    for name in case.functions:
        assert log.count(f"{name}:call") == log.count(f"{name}:done"), f"{name} still running: {names}"
    started = [name for name in case.sources if log.count(f"{name}:start")]
    if point.cancel_at is not None:
        assert "src" in started, names  # the cancellation came while the run was under way
    if started:
        # ...before the operator's own cleanup finished (inner before outer).
        for name in started:
            assert log.before(f"{name}:close", "op:close"), f"{name} closed after the operator: {names}"
        for name in case.functions:
            if log.count(f"{name}:call"):
                assert log.before(f"{name}:done", "op:close"), names
        for inner, outer in zip(case.layers, (*case.layers[1:], "op")):
            assert log.before(f"{inner}:close", f"{outer}:close"), f"{inner} closed after {outer}: {names}"

    if point.id == "at_start":
        assert outcome.received == []
    if point.id == "before_first_item":
        assert log.produced == 0
    if point.id == "waiting_on_consumer":
        # The operator read ahead while the consumer was busy: items were waiting inside it...
        real = [item for item in outcome.received if item != "hb"]
        assert log.produced > len(real), (log.produced, outcome.received)
        # ...and, unless it drops or buffers by design, the source was held back (20 s = 20 items).
        if case.id not in ("buffer-drop-oldest", "delay"):
            assert log.produced < 15, log.produced
    if point.id == "draining":
        # The source had ended (its finally ran) before the cancel, the operator had not.
        assert log.time_of("src:close") < 20.0, names
        assert log.time_of("op:close") == 20.0, names


# -- Channel: a hot source, with the producer outside the pipeline --------------------------------


@pytest.mark.parametrize("point", ["at_start", "waiting_on_producer", "waiting_on_consumer", "draining"])
async def test_cancel_a_channel_consumer(point: str) -> None:
    """Cancelling a Channel's consumer tells its producer at once: a ``send`` blocked on a full
    buffer raises ChannelClosedError, ``wait()`` returns False, later sends raise."""
    channel: sk.Channel[int] = sk.Channel(max_buffer=2)
    producer_heard: list[str] = []

    async def produce() -> None:
        try:
            for n in range(2 if point in ("waiting_on_producer", "draining") else 100):
                await anyio.sleep(1)
                await channel.send(n)
            if point == "draining":
                channel.close()
            else:
                still_open = await channel.wait()  # sleeps until the consumer leaves
                producer_heard.append(f"wait() returned {still_open}")
        except sk.ChannelClosedError as error:
            producer_heard.append(str(error))

    received: list[int] = []
    async with anyio.create_task_group() as tg:
        tg.start_soon(produce)
        with anyio.CancelScope() as scope:
            if point == "at_start":
                scope.cancel()
            else:
                scope.deadline = anyio.current_time() + 20
            async with (channel | sk.map(lambda x: x)).open() as items:
                async for item in items:
                    received.append(item)
                    if point in ("waiting_on_consumer", "draining"):
                        await anyio.sleep(1000)
        assert scope.cancelled_caught
        cancelled_at = anyio.current_time()
        assert channel.closed
        with pytest.raises(sk.ChannelClosedError, match="consumer has left|was closed"):
            await channel.send(-1)
        await anyio.wait_all_tasks_blocked()
        if point in ("waiting_on_producer", "waiting_on_consumer"):
            # The producer, waiting in wait() or blocked in send() on a full buffer, heard it now.
            assert producer_heard in (["wait() returned False"], ["the channel's consumer has left"]), producer_heard
            assert anyio.current_time() == cancelled_at
        tg.cancel_scope.cancel()
    assert live_pumps() == 0
    with pytest.raises(sk.StreamReusedError):
        await channel.list()


# -- native asyncio cancellation: Task.cancel(), as a web framework does it ------------------------


@pytest.mark.parametrize("case", [pytest.param(case, id=case.id) for case in CASES])
def test_native_asyncio_task_cancel_propagates(case: Case) -> None:
    """``task.cancel()`` on a consumer waiting inside any operator: the task ends *cancelled*
    (CancelledError not swallowed nor turned into another error), with cleanup done."""

    async def main() -> None:
        log = Log()
        point = POINTS[2]  # waiting_on_source
        pipeline = case.build(log, point) | log.layer("op")

        async def consume() -> None:
            async for _ in pipeline:
                pass

        task = asyncio.get_running_loop().create_task(consume())
        await asyncio.sleep(5)
        assert not task.done()
        task.cancel()
        await asyncio.wait([task])
        assert task.cancelled()
        assert live_pumps() == 0
        for name in case.sources:
            assert log.balanced(name), log.names
            if log.count(f"{name}:start"):
                assert log.before(f"{name}:close", "op:close"), log.names

    with asyncio.Runner(loop_factory=VirtualTimeLoop) as runner:
        runner.run(main())
