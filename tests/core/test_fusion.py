"""Fused synchronous stages behave exactly like the same operators applied one by one.

Hypothesis builds random chains of sync stages (which fuse into one generator), async stages
(generators of their own) and a pumped stage (buffer), and compares each run with a plain list
implementation. Stopping stages (take, take_while) must stop the whole chain, and a chain run
twice must give the same result (per-run state).
"""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator
from typing import Any

import anyio
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import streamkit as sk
from streamkit.testing import SourceTracker

Spec = tuple[Any, ...]

stage_specs = st.one_of(
    st.tuples(st.just("map"), st.integers(-3, 3)),
    st.tuples(st.just("async_map"), st.integers(-3, 3)),
    st.tuples(st.just("filter"), st.integers(0, 2)),
    st.tuples(st.just("async_filter"), st.integers(0, 2)),
    st.tuples(st.just("take"), st.integers(0, 6)),
    st.tuples(st.just("skip"), st.integers(0, 4)),
    st.tuples(st.just("take_while"), st.integers(-2, 6), st.booleans()),
    st.tuples(st.just("skip_while"), st.integers(-2, 6)),
    st.tuples(st.just("distinct")),
    st.tuples(st.just("scan")),
    st.tuples(st.just("tap")),
    st.tuples(st.just("buffer"), st.integers(1, 3)),
)


def reference(items: list[int], specs: list[Spec]) -> list[int]:
    for spec in specs:
        kind = spec[0]
        if kind in ("map", "async_map"):
            items = [x + spec[1] for x in items]
        elif kind in ("filter", "async_filter"):
            items = [x for x in items if x % 3 != spec[1]]
        elif kind == "take":
            items = items[: spec[1]]
        elif kind == "skip":
            items = items[spec[1] :]
        elif kind == "take_while":
            kept = list(itertools.takewhile(lambda x: x < spec[1], items))
            if spec[2] and len(kept) < len(items):
                kept.append(items[len(kept)])
            items = kept
        elif kind == "skip_while":
            items = list(itertools.dropwhile(lambda x: x < spec[1], items))
        elif kind == "distinct":
            items = [x for n, x in enumerate(items) if n == 0 or items[n - 1] != x]
        elif kind == "scan":
            items = list(itertools.accumulate(items))
    return items


def step(spec: Spec) -> Any:
    kind = spec[0]
    if kind == "map":
        return sk.map(lambda x: x + spec[1])
    if kind == "async_map":

        async def add(x: int) -> int:
            return x + spec[1]

        return sk.map(add)
    if kind == "filter":
        return sk.filter(lambda x: x % 3 != spec[1])
    if kind == "async_filter":

        async def keep(x: int) -> bool:
            return x % 3 != spec[1]

        return sk.filter(keep)
    if kind == "take":
        return sk.take(spec[1])
    if kind == "skip":
        return sk.skip(spec[1])
    if kind == "take_while":
        return sk.take_while(lambda x: x < spec[1], inclusive=spec[2])
    if kind == "skip_while":
        return sk.skip_while(lambda x: x < spec[1])
    if kind == "distinct":
        return sk.distinct()
    if kind == "scan":
        return sk.scan(lambda a, x: a + x, 0)
    if kind == "tap":
        return sk.tap(lambda x: None)
    return sk.buffer(spec[1])


@settings(max_examples=150, derandomize=True, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(items=st.lists(st.integers(-5, 5), max_size=12), specs=st.lists(stage_specs, max_size=6))
async def test_chains_match_the_list_reference(items: list[int], specs: list[Spec]) -> None:
    tracker = SourceTracker()
    stream: sk.Stream[Any] = tracker.track(items)
    for spec in specs:
        stream = stream | step(spec)
    expected = reference(items, specs)
    assert await stream.list() == expected
    assert await stream.list() == expected
    tracker.assert_all_closed()


@settings(max_examples=60, derandomize=True, deadline=None)
@given(count=st.integers(0, 5), specs=st.lists(stage_specs.filter(lambda s: s[0] != "buffer"), max_size=4))
async def test_a_stopping_stage_reads_no_further_than_it_needs(count: int, specs: list[Spec]) -> None:
    # Without read-ahead (no buffer), take(count) after any chain pulls from the source only
    # until its last item is out, then closes the source.
    pulled = 0

    async def numbers() -> AsyncIterator[int]:
        nonlocal pulled
        for n in range(100):
            pulled += 1
            yield n
            await anyio.lowlevel.checkpoint()

    stream: sk.Stream[Any] = sk.Stream(numbers)
    for spec in specs:
        stream = stream | step(spec)
    got = await (stream | sk.take(count)).list()
    assert got == reference(list(range(100)), [*specs, ("take", count)])
    if count == 0:
        assert pulled == 0
    elif len(got) == count:
        # The item that completed the take was the last one pulled.
        assert reference(list(range(pulled)), specs)[:count] == got
        assert len(reference(list(range(pulled - 1)), specs)) < count
