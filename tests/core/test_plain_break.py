"""A plain ``async for`` that breaks early: cleanup comes from the generator's finalizer, as in Python.

``async with stream.open()`` is the documented way to have cleanup done *before* the next line.
Without it, CPython drops the run's generator at the ``break`` and the event loop's async-generator
finalizer closes it at its next turn, so no pump outlives its run. On trio that finalizer also
issues a ResourceWarning ("... garbage collected before it had been exhausted"), by trio's design,
for every async generator; these tests record it rather than let it fail the suite.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable

import anyio

import streamkit as sk
from streamkit._core.tasks import live_pumps
from tests.core.core_helpers import Kit


async def break_plainly(make: Callable[[Kit], sk.Stream[object]]) -> tuple[Kit, list[warnings.WarningMessage]]:
    kit = Kit()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        async for _ in make(kit):
            break
    return kit, caught


def check_warnings(caught: list[warnings.WarningMessage], backend: str) -> None:
    resource = [w for w in caught if issubclass(w.category, ResourceWarning)]
    if backend == "trio":
        assert resource, "trio warns about an async generator dropped before it was exhausted"
    else:
        assert resource == []
    assert [w for w in caught if not issubclass(w.category, ResourceWarning)] == []


async def test_break_without_open_stops_the_pumps_soon_after(anyio_backend_name: str) -> None:
    start = live_pumps()
    kit, caught = await break_plainly(
        lambda kit: kit.source([1, 2, 3], then="hang") | sk.merge(kit.source([4], then="hang")) | sk.heartbeat(5, 0)
    )
    with anyio.fail_after(1):
        while live_pumps() != start or any(tracker.open_runs for tracker in kit.trackers):
            await anyio.sleep(0)
    kit.assert_closed()
    check_warnings(caught, anyio_backend_name)


async def test_break_without_open_closes_a_fused_chain_soon_after(anyio_backend_name: str) -> None:
    kit, caught = await break_plainly(lambda kit: kit.source([1, 2, 3], then="hang") | sk.map(str) | sk.filter(bool))
    with anyio.fail_after(1):
        while kit.trackers[0].open_runs:
            await anyio.sleep(0)
    check_warnings(caught, anyio_backend_name)


async def test_break_inside_open_warns_on_no_backend() -> None:
    kit = Kit()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        async with (kit.source([1, 2, 3], then="hang") | sk.merge(kit.source([4], then="hang"))).open() as items:
            async for _ in items:
                break
    kit.assert_closed()
    assert caught == []
