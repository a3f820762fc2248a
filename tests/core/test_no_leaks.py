"""Background pumps end with their run: cancelled, closed, failed or finished."""

from __future__ import annotations

from collections.abc import AsyncIterator

import anyio

import streamkit as sk
from streamkit._core.tasks import live_pumps
from tests.core.core_helpers import Boom, Kit


async def slow_double(x: int) -> int:
    await anyio.sleep(1)
    return x * 2


def background_pipelines(kit: Kit) -> list[sk.Stream[object]]:
    """One pipeline per kind of operator that runs pumps, all fed by sources that never end."""
    src = lambda: kit.source(range(1000), gap=0.5, then="hang")  # noqa: E731
    return [
        src() | sk.merge(src(), sk.interval(0.75)),
        src() | sk.zip(src()),
        src() | sk.buffer(4, overflow="drop_oldest"),
        src() | sk.debounce(0.25) | sk.heartbeat(0.1, -1),
        src() | sk.throttle(1, trailing=True) | sk.sample(0.3),
        src() | sk.batch(3, max_wait=0.2) | sk.timeout(10, total=1000),
        src() | sk.take_until(src() | sk.filter(lambda x: x > 10_000)) | sk.delay(0.5),
        src() | sk.map(slow_double, concurrency=4) | sk.map(slow_double, concurrency=2, ordered=False),
        src() | sk.switch_map(lambda x: src()),
        sk.push(lambda channel: channel.wait()) | sk.merge(src()),
    ]


async def test_cancelled_background_operators_leave_no_pump_running() -> None:
    start = live_pumps()
    kit = Kit()
    with anyio.move_on_after(30) as scope:
        async with anyio.create_task_group() as tg:
            for pipeline in background_pipelines(kit):
                tg.start_soon(pipeline.list)
            await anyio.sleep(10)
            assert live_pumps() > start + 20  # they really are running in the background
    assert scope.cancelled_caught
    assert live_pumps() == start
    kit.assert_closed()


async def test_closed_failed_and_finished_runs_leave_no_pump_running() -> None:
    start = live_pumps()
    kit = Kit()
    for pipeline in background_pipelines(kit):
        async with pipeline.open() as items:
            async for _ in items:
                break
        assert live_pumps() == start, pipeline

    async def fails() -> AsyncIterator[int]:
        yield 1
        raise Boom("pump failed")

    for step in (sk.merge(sk.never()), sk.buffer(2), sk.heartbeat(1, 0), sk.map(slow_double, concurrency=3)):
        try:
            await (sk.Stream(fails) | step).list()
        except Boom:
            pass
        assert live_pumps() == start

    assert await (sk.iterate(range(5)) | sk.merge(sk.iterate(range(5))) | sk.buffer(2)).count() == 10
    assert live_pumps() == start
    kit.assert_closed()
