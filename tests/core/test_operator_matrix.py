"""Every operator through the same scenarios: normal path, empty source, error in the source, error
in the user function, early stop by the consumer, and cancellation from outside.

Each scenario asserts that every source run (the main one and any other stream an operator reads:
merge's others, a flat_map inner stream, a take_until trigger) ran its ``finally`` *before*
control came back to the consumer: for errors, at the moment the error reaches the consumer's
``except``, still inside the ``async with``; for early stop and cancellation, right after the
``async with`` block or cancel scope.

The main source emits 1, 2, 3 at t = 1, 2, 3 (virtual time), so the expected outputs of the time
operators are exact.
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import anyio
import pytest

import streamkit as sk
from tests.core.core_helpers import Boom, Kit, Oops, async_fails_on, fails_on

Build = Callable[[sk.Stream[Any], Kit], sk.Stream[Any]]


@dataclass
class Case:
    id: str
    build: Build
    normal: list[Any]
    """Output for a source emitting 1, 2, 3 at t = 1, 2, 3, then ending."""
    empty: list[Any] = field(default_factory=list)
    """Output for a source that ends at once."""
    source_error: list[Any] | None = None
    """Output before Boom, for a source emitting 1, 2 at t = 1, 2 and raising Boom right after 2."""
    source_error_caught: bool = False
    """True if the operator handles Boom (catch): ``source_error`` is then the whole output."""
    failing: Callable[[Kit], sk.Stream[Any]] | None = None
    """The whole pipeline with a user function raising Oops (on item 2 unless said otherwise)."""
    failing_before: list[Any] = field(default_factory=list)
    """Output before Oops."""
    early_stop_after: int = 1
    """Items the early-stop scenario reads before it breaks (enough to have started the source)."""

    def __post_init__(self) -> None:
        if self.source_error is None:
            self.source_error = self.normal[:2]


def on(build: Build) -> Callable[[Kit], sk.Stream[Any]]:
    """``build`` applied to the standard source (1, 2, 3 at t = 1, 2, 3)."""
    return lambda kit: build(kit.source(), kit)


async def slow_tenfold(x: int) -> int:
    """Takes 10/x seconds: item 1 finishes last, item 3 first."""
    await anyio.sleep(10 / x)
    return x * 10


async def slow_tenfold_failing(x: int) -> int:
    await anyio.sleep(10 / x)
    if x == 2:
        raise Oops("failed on 2")
    return x * 10


def raise_oops(error: Exception) -> sk.Stream[Any]:
    raise Oops("fallback failed") from error


async def trigger_failing() -> None:
    await anyio.sleep(1.5)
    raise Oops("trigger failed")


never_set = anyio.Event  # a fresh Event per pipeline (an Event belongs to one event loop)

CASES = [
    # -- transform -------------------------------------------------------------------------------
    Case(
        "map-sync",
        lambda s, k: s | sk.map(lambda x: x * 10),
        [10, 20, 30],
        failing=on(lambda s, k: s | sk.map(fails_on(2))),
        failing_before=[1],
    ),
    Case(
        "map-async",
        lambda s, k: s | sk.map(async_fails_on(None, lambda x: x * 10)),
        [10, 20, 30],
        failing=on(lambda s, k: s | sk.map(async_fails_on(2))),
        failing_before=[1],
    ),
    Case(
        "map-concurrent-ordered",
        lambda s, k: s | sk.map(slow_tenfold, concurrency=3),
        [10, 20, 30],
        source_error=[],  # the calls in flight are cancelled by the error
        failing=on(lambda s, k: s | sk.map(slow_tenfold_failing, concurrency=3)),
        failing_before=[],  # 30 is done but waits for 10 and 20, and 2 fails first
    ),
    Case(
        "map-concurrent-unordered",
        lambda s, k: s | sk.map(slow_tenfold, concurrency=3, ordered=False),
        [30, 20, 10],
        source_error=[],
        failing=on(lambda s, k: s | sk.map(slow_tenfold_failing, concurrency=3, ordered=False)),
        failing_before=[30],
    ),
    Case(
        "filter-sync",
        lambda s, k: s | sk.filter(lambda x: x != 2),
        [1, 3],
        source_error=[1],
        failing=on(lambda s, k: s | sk.filter(fails_on(2))),
        failing_before=[1],
    ),
    Case(
        "filter-async",
        lambda s, k: s | sk.filter(async_fails_on(None, lambda x: x != 2)),
        [1, 3],
        source_error=[1],
        failing=on(lambda s, k: s | sk.filter(async_fails_on(2))),
        failing_before=[1],
    ),
    Case(
        "scan-sync",
        lambda s, k: s | sk.scan(operator.add, 0),
        [1, 3, 6],
        failing=on(lambda s, k: s | sk.scan(fails_on(2, operator.add), 0)),
        failing_before=[1],
    ),
    Case(
        "scan-async",
        lambda s, k: s | sk.scan(async_fails_on(None, operator.add), 0),
        [1, 3, 6],
        failing=on(lambda s, k: s | sk.scan(async_fails_on(2, operator.add), 0)),
        failing_before=[1],
    ),
    Case(
        "flat_map-iterable",
        lambda s, k: s | sk.flat_map(lambda x: [x, x]),
        [1, 1, 2, 2, 3, 3],
        source_error=[1, 1, 2, 2],
        failing=on(lambda s, k: s | sk.flat_map(fails_on(2, lambda x: [x, x]))),
        failing_before=[1, 1],
    ),
    Case(
        "flat_map-stream",
        lambda s, k: s | sk.flat_map(lambda x: k.source([x, -x], gap=0.25)),
        [1, -1, 2, -2, 3, -3],
        source_error=[1, -1, 2, -2],
        failing=on(lambda s, k: s | sk.flat_map(fails_on(2, lambda x: k.source([x, -x], gap=0.25)))),
        failing_before=[1, -1],
    ),
    Case(
        "flat_map-async",
        lambda s, k: s | sk.flat_map(async_fails_on(None, lambda x: [x, x])),
        [1, 1, 2, 2, 3, 3],
        source_error=[1, 1, 2, 2],
        failing=on(lambda s, k: s | sk.flat_map(async_fails_on(2, lambda x: [x, x]))),
        failing_before=[1, 1],
    ),
    Case(
        "tap-sync",
        lambda s, k: s | sk.tap(lambda x: None),
        [1, 2, 3],
        failing=on(lambda s, k: s | sk.tap(fails_on(2))),
        failing_before=[1],
    ),
    Case(
        "tap-async",
        lambda s, k: s | sk.tap(async_fails_on(None)),
        [1, 2, 3],
        failing=on(lambda s, k: s | sk.tap(async_fails_on(2))),
        failing_before=[1],
    ),
    Case(
        "start_with",
        lambda s, k: s | sk.start_with(-1, 0),
        [-1, 0, 1, 2, 3],
        empty=[-1, 0],
        source_error=[-1, 0, 1, 2],
        early_stop_after=3,
    ),
    Case(
        "distinct",
        lambda s, k: s | sk.distinct(key=lambda x: x // 2),
        [1, 2],
        source_error=[1, 2],
        failing=on(lambda s, k: s | sk.distinct(key=fails_on(2))),
        failing_before=[1],
    ),
    Case("enumerate", lambda s, k: s | sk.enumerate(1), [(1, 1), (2, 2), (3, 3)]),
    # -- select ----------------------------------------------------------------------------------
    Case("take", lambda s, k: s | sk.take(5), [1, 2, 3]),
    Case(
        "take_while",
        lambda s, k: s | sk.take_while(lambda x: x < 5),
        [1, 2, 3],
        failing=on(lambda s, k: s | sk.take_while(fails_on(2, lambda x: True))),
        failing_before=[1],
    ),
    Case(
        "take_while-inclusive",
        lambda s, k: s | sk.take_while(lambda x: x < 5, inclusive=True),
        [1, 2, 3],
        failing=on(lambda s, k: s | sk.take_while(fails_on(2, lambda x: True), inclusive=True)),
        failing_before=[1],
    ),
    Case("take_until-event", lambda s, k: s | sk.take_until(never_set()), [1, 2, 3]),
    Case("take_until-stream", lambda s, k: s | sk.take_until(k.source([], then="hang")), [1, 2, 3]),
    Case(
        "take_until-function",
        lambda s, k: s | sk.take_until(lambda: anyio.sleep(1000)),
        [1, 2, 3],
        failing=on(lambda s, k: s | sk.take_until(trigger_failing)),
        failing_before=[1],
    ),
    Case("take_until-deadline", lambda s, k: s | sk.take_until(1000.0), [1, 2, 3]),
    Case("skip", lambda s, k: s | sk.skip(1), [2, 3], source_error=[2]),
    Case(
        "skip_while",
        lambda s, k: s | sk.skip_while(lambda x: x < 2),
        [2, 3],
        source_error=[2],
        failing=on(lambda s, k: s | sk.skip_while(fails_on(2, lambda x: True))),
        failing_before=[],
    ),
    # -- time ------------------------------------------------------------------------------------
    Case("throttle-leading", lambda s, k: s | sk.throttle(1.5), [1, 3], source_error=[1]),
    Case("throttle-both", lambda s, k: s | sk.throttle(1.5, trailing=True), [1, 2, 3], source_error=[1]),
    Case("throttle-trailing", lambda s, k: s | sk.throttle(1.5, leading=False, trailing=True), [2, 3], source_error=[]),
    Case("debounce", lambda s, k: s | sk.debounce(0.5), [1, 2, 3], source_error=[1]),
    Case("sample", lambda s, k: s | sk.sample(2.5), [2, 3], source_error=[]),
    Case("batch-size", lambda s, k: s | sk.batch(2), [[1, 2], [3]], source_error=[[1, 2]]),
    Case("batch-time", lambda s, k: s | sk.batch(max_wait=1.5), [[1, 2], [3]], source_error=[[1, 2]]),
    Case("batch-both", lambda s, k: s | sk.batch(2, max_wait=0.5), [[1], [2], [3]], source_error=[[1], [2]]),
    Case("timeout-gap", lambda s, k: s | sk.timeout(100), [1, 2, 3]),
    Case("timeout-total", lambda s, k: s | sk.timeout(total=100), [1, 2, 3]),
    Case("spaceout", lambda s, k: s | sk.spaceout(1.5), [1, 2, 3]),
    Case("delay", lambda s, k: s | sk.delay(0.5), [1, 2, 3]),
    Case("heartbeat", lambda s, k: s | sk.heartbeat(0.75, 0), [0, 1, 0, 2, 0, 3], source_error=[0, 1, 0, 2]),
    # -- combine ---------------------------------------------------------------------------------
    Case(
        "merge",
        lambda s, k: s | sk.merge(k.source([10, 20], gap=1.25)),
        [1, 10, 2, 20, 3],
        empty=[10, 20],
        source_error=[1, 10, 2],
    ),
    Case("chain", lambda s, k: s | sk.chain(k.source([10, 20])), [1, 2, 3, 10, 20], empty=[10, 20]),
    Case(
        "zip",
        lambda s, k: s | sk.zip(k.source([10, 20, 30, 40])),
        [(1, 10), (2, 20), (3, 30)],
    ),
    Case("buffer-wait", lambda s, k: s | sk.buffer(2), [1, 2, 3]),
    Case("buffer-drop_oldest", lambda s, k: s | sk.buffer(2, overflow="drop_oldest"), [1, 2, 3]),
    Case("buffer-drop_newest", lambda s, k: s | sk.buffer(2, overflow="drop_newest"), [1, 2, 3]),
    Case("buffer-error", lambda s, k: s | sk.buffer(2, overflow="error"), [1, 2, 3]),
    Case(
        "catch",
        lambda s, k: s | sk.catch(k.source([99], gap=0.5)),
        [1, 2, 3],
        source_error=[1, 2, 99],
        source_error_caught=True,
        failing=lambda k: k.source([1, 2], then="boom") | sk.catch(raise_oops),
        failing_before=[1, 2],
    ),
    Case("retry", lambda s, k: s | sk.retry(2), [1, 2, 3], source_error=[1, 2] * 3),
    Case("retry-before_first_item", lambda s, k: s | sk.retry(2, before_first_item=True), [1, 2, 3]),
    Case(
        "switch_map",
        lambda s, k: s | sk.switch_map(lambda x: k.source([x * 10, x * 10 + 1], gap=0.75)),
        [10, 20, 30, 31],
        source_error=[10],
        failing=on(lambda s, k: s | sk.switch_map(fails_on(2, lambda x: k.source([x * 10], gap=0.75)))),
        failing_before=[10],
    ),
]

FAILING = [case for case in CASES if case.failing is not None]


def ids(case: Case) -> str:
    return case.id


@pytest.mark.parametrize("case", CASES, ids=ids)
async def test_normal(case: Case) -> None:
    kit = Kit()
    assert await case.build(kit.source(), kit).list() == case.normal
    kit.assert_closed()


@pytest.mark.parametrize("case", CASES, ids=ids)
async def test_empty_source(case: Case) -> None:
    kit = Kit()
    assert await case.build(kit.source([]), kit).list() == case.empty
    kit.assert_closed()


@pytest.mark.parametrize("case", CASES, ids=ids)
async def test_error_in_source(case: Case) -> None:
    kit = Kit()
    stream = case.build(kit.source([1, 2], then="boom"), kit)
    got: list[Any] = []
    async with stream.open() as items:
        if case.source_error_caught:
            got = [item async for item in items]
        else:
            with pytest.raises(Boom):
                async for item in items:
                    got.append(item)
            # The error arrived with its own type, and every source was already closed.
            kit.assert_closed()
    assert got == case.source_error
    kit.assert_closed()


@pytest.mark.parametrize("case", FAILING, ids=ids)
async def test_error_in_user_function(case: Case) -> None:
    kit = Kit()
    assert case.failing is not None
    got: list[Any] = []
    async with case.failing(kit).open() as items:
        with pytest.raises(Oops):
            async for item in items:
                got.append(item)
        kit.assert_closed()
    assert got == case.failing_before


@pytest.mark.parametrize("case", CASES, ids=ids)
async def test_early_stop(case: Case) -> None:
    kit = Kit()
    stream = case.build(kit.source([1, 2, 3], then="hang"), kit)
    got: list[Any] = []
    async with stream.open() as items:
        async for item in items:
            got.append(item)
            if len(got) == case.early_stop_after:
                break
    kit.assert_closed()
    assert kit.runs_started >= 1
    assert got == case.normal[: case.early_stop_after]


def assert_prefix(got: list[Any], expected: list[Any]) -> None:
    """One of the lists starts the other: a hanging source cuts or extends the normal output."""
    n = min(len(got), len(expected))
    assert got[:n] == expected[:n], (got, expected)


@pytest.mark.parametrize("case", CASES, ids=ids)
async def test_cancelled_while_waiting_for_an_item(case: Case) -> None:
    # Plain `async for`: the cancellation lands inside __anext__ and unwinds the whole pipeline.
    kit = Kit()
    got: list[Any] = []
    with anyio.move_on_after(50) as scope:
        async for item in case.build(kit.source([1, 2, 3], then="hang"), kit):
            got.append(item)
    assert scope.cancelled_caught
    kit.assert_closed()
    assert got
    assert_prefix(got, case.normal)


@pytest.mark.parametrize("case", CASES, ids=ids)
async def test_cancelled_while_consumer_busy(case: Case) -> None:
    # The cancellation lands in the consumer's own code; the `async with` closes the run.
    kit = Kit()
    with anyio.move_on_after(50) as scope:
        async with case.build(kit.source([1, 2, 3], then="hang"), kit).open() as items:
            async for _ in items:
                await anyio.sleep_forever()
    assert scope.cancelled_caught
    kit.assert_closed()


@pytest.mark.parametrize("case", CASES, ids=ids)
async def test_cancelled_from_another_task(case: Case) -> None:
    kit = Kit()
    got: list[Any] = []
    closed_when_cancelled: list[bool] = []

    async def consume(scope: anyio.CancelScope) -> None:
        with scope:
            async for item in case.build(kit.source([1, 2, 3], then="hang"), kit):
                got.append(item)
        closed_when_cancelled.append(all(t.open_runs == 0 for t in kit.trackers))

    scope = anyio.CancelScope()
    async with anyio.create_task_group() as tg:
        tg.start_soon(consume, scope)
        await anyio.sleep(50)
        scope.cancel()
    assert closed_when_cancelled == [True]
    assert got
    assert_prefix(got, case.normal)
