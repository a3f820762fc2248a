"""The timeline recorder on the virtual clock: exact times, ends, errors and early closes."""

from __future__ import annotations

import pytest

import streamkit as sk
from streamkit.notebook import Marble, Timeline, scheduled


async def test_probes_record_when_each_stage_emitted_what() -> None:
    timeline = Timeline()
    pipeline = sk.interval(1) | sk.take(8) | timeline.probe("source") | sk.throttle(3) | timeline.probe("throttle(3)")
    assert await pipeline.list() == [0, 3, 6]
    assert timeline.lanes == ["source", "throttle(3)"]
    assert timeline.items("source") == [(float(n + 1), n) for n in range(8)]
    assert timeline.items("throttle(3)") == [(1.0, 0), (4.0, 3), (7.0, 6)]
    assert timeline.outcome("source") == Marble("source", 8.0, "end")
    assert timeline.outcome("throttle(3)") == Marble("throttle(3)", 8.0, "end")


async def test_debounce_and_batch_on_a_bursty_source() -> None:
    timeline = Timeline()
    keys = scheduled([(0.5, "a"), (0.7, "b"), (3.0, "c"), (3.2, "d"), (3.4, "e")], end=6.0) | timeline.probe("keys")
    debounced = keys | sk.debounce(1) | timeline.probe("debounce(1)")
    batched = keys | sk.batch(max_wait=2) | timeline.probe("batch(max_wait=2)")
    await debounced.list()
    await batched.list()
    assert timeline.items("debounce(1)") == [(1.7, "b"), (4.4, "e")]
    # The second run of the timeline continues its clock: times count from the first probe's start.
    origin = 6.0
    assert [(t - origin, v) for t, v in timeline.items("batch(max_wait=2)")] == [(2.5, ["a", "b"]), (5.0, ["c", "d", "e"])]


async def test_merge_interleaves_lanes_at_their_times() -> None:
    timeline = Timeline()
    ticks = sk.interval(1) | sk.take(3) | timeline.probe("ticks")
    clicks = scheduled([(0.5, "x"), (2.5, "y")]) | timeline.probe("clicks")
    await (ticks | sk.merge(clicks) | timeline.probe("merged")).list()
    assert timeline.items("merged") == [(0.5, "x"), (1.0, 0), (2.0, 1), (2.5, "y"), (3.0, 2)]
    assert timeline.outcome("clicks") == Marble("clicks", 2.5, "end")
    assert timeline.outcome("merged") == Marble("merged", 3.0, "end")


async def test_heartbeat_marbles_come_after_each_silence() -> None:
    timeline = Timeline()
    quiet = scheduled([(1.0, "a"), (6.0, "b")]) | sk.heartbeat(2, "ping") | timeline.probe("heartbeat(2)")
    await quiet.list()
    assert timeline.items("heartbeat(2)") == [(1.0, "a"), (3.0, "ping"), (5.0, "ping"), (6.0, "b")]


async def test_an_error_is_recorded_in_every_lane_it_passes() -> None:
    timeline = Timeline()

    def check(n: int) -> int:
        if n == 2:
            raise ValueError("two")
        return n

    pipeline = sk.interval(1) | timeline.probe("ticks") | sk.map(check) | timeline.probe("checked")
    with pytest.raises(ValueError, match="two"):
        await pipeline.list()
    failed = timeline.outcome("checked")
    assert failed is not None and failed.kind == "error" and failed.time == 3.0
    assert isinstance(failed.value, ValueError)
    # The source did not fail: its run was closed by the error below it.
    assert timeline.outcome("ticks") == Marble("ticks", 3.0, "closed")


async def test_a_consumer_stopping_early_is_recorded_as_closed() -> None:
    timeline = Timeline()
    await (sk.interval(1) | timeline.probe("ticks") | sk.take_until(2.5)).list()
    assert timeline.items("ticks") == [(1.0, 0), (2.0, 1)]
    assert timeline.outcome("ticks") == Marble("ticks", 2.5, "closed")


async def test_events_come_in_order_with_a_start_per_run() -> None:
    timeline = Timeline()
    await (sk.iterate([1]) | timeline.probe("one")).list()
    assert timeline.events == [Marble("one", 0.0, "start"), Marble("one", 0.0, "item", 1), Marble("one", 0.0, "end")]


async def test_clear_forgets_events_and_restarts_the_clock() -> None:
    timeline = Timeline()
    probed = sk.timer(2.0, "ring") | timeline.probe("timer")
    await probed.list()
    timeline.clear()
    await sk.wait(10)
    await probed.list()
    assert timeline.items("timer") == [(2.0, "ring")]


async def test_a_probe_changes_nothing_in_the_stream() -> None:
    timeline = Timeline()
    stream = sk.iterate(range(5)) | sk.map(lambda n: n * 2)
    assert await (stream | timeline.probe("doubled")).list() == await stream.list()


def test_asking_for_an_unknown_lane_names_the_known_ones() -> None:
    timeline = Timeline()
    timeline.probe("source")
    with pytest.raises(KeyError, match="'sauce'.*'source'"):
        timeline.items("sauce")


@pytest.mark.parametrize("name", ["", None, 3])
def test_a_probe_needs_a_name(name: object) -> None:
    with pytest.raises(TypeError, match="probe.*non-empty str"):
        Timeline().probe(name)  # type: ignore[arg-type]


def test_repr_says_what_was_recorded() -> None:
    assert repr(Timeline()) == "<Timeline: 0 lane(s), 0 event(s) over 0 s>"


async def test_scheduled_emits_at_the_given_times_and_ends_at_end() -> None:
    timeline = Timeline()
    await (scheduled([(0.0, "now"), (1.5, "later"), (1.5, "same time")], end=4.0) | timeline.probe("s")).list()
    assert timeline.items("s") == [(0.0, "now"), (1.5, "later"), (1.5, "same time")]
    assert timeline.outcome("s") == Marble("s", 4.0, "end")


@pytest.mark.parametrize(
    ("events", "end", "message"),
    [
        ([(1.0, "a"), (0.5, "b")], None, "event 1 at 0.5 s comes before event 0"),
        ([(-1, "a")], None, "time of event 0"),
        (["a"], None, "event 0 must be a .seconds, value. pair"),
        ([(2.0, "a")], 1.0, r"end=1.0.*before the last event"),
    ],
)
def test_scheduled_refuses_a_bad_schedule(events: list[object], end: float | None, message: str) -> None:
    with pytest.raises((TypeError, ValueError), match=message):
        scheduled(events, end=end)  # type: ignore[arg-type]


def test_the_public_names_are_there_and_nothing_heavy_is_imported_up_front() -> None:
    import subprocess
    import sys

    import streamkit.notebook

    assert sorted(streamkit.notebook.__all__) == ["Marble", "Timeline", "marbles", "run_virtual", "scheduled", "show"]
    assert all(hasattr(streamkit.notebook, name) for name in streamkit.notebook.__all__)
    # matplotlib and IPython load only when a picture is drawn or a kernel is found.
    loaded = subprocess.run(
        [sys.executable, "-c", "import sys, streamkit.notebook; print(sorted({'matplotlib', 'IPython'} & set(sys.modules)))"],
        capture_output=True, text=True, check=True,
    ).stdout
    assert loaded == "[]\n"
