"""run_virtual and marbles (a fresh virtual clock in a thread), and drawing timelines with Agg."""

from __future__ import annotations

import threading
from pathlib import Path

import anyio
import pytest
from matplotlib.figure import Figure

import streamkit as sk
from streamkit.notebook import Marble, Timeline, marbles, run_virtual, scheduled
from streamkit.testing import SourceTracker

BACKENDS = ["asyncio", "trio"]


@pytest.mark.parametrize("backend", BACKENDS)
def test_run_virtual_runs_a_long_wait_at_once_and_returns_the_result(backend: str) -> None:
    async def an_hour() -> tuple[float, str]:
        start = anyio.current_time()
        await sk.wait(3600)
        return anyio.current_time() - start, threading.current_thread().name

    waited, thread = run_virtual(an_hour, backend=backend)  # type: ignore[arg-type]
    assert waited == 3600.0
    assert thread != threading.current_thread().name  # a loop of its own, not the caller's


@pytest.mark.parametrize("backend", BACKENDS)
def test_run_virtual_passes_arguments_and_raises_errors_with_their_type(backend: str) -> None:
    tracker = SourceTracker()

    async def first_two(stream: sk.Stream[int]) -> list[int]:
        return await (stream | sk.take(2)).list()

    assert run_virtual(first_two, tracker.track(sk.interval(60)), backend=backend) == [0, 1]  # type: ignore[arg-type]
    tracker.assert_all_closed()

    async def fails() -> None:
        await sk.wait(5)
        raise LookupError("nothing here")

    with pytest.raises(LookupError, match="nothing here"):
        run_virtual(fails, backend=backend)  # type: ignore[arg-type]


def test_run_virtual_refuses_what_it_cannot_run() -> None:
    with pytest.raises(TypeError, match="async function"):
        run_virtual("pipeline.list")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="'asyncio' or 'trio'.*'curio'"):
        run_virtual(sk.just(1).list, backend="curio")  # type: ignore[arg-type]


def test_run_virtual_works_while_an_event_loop_runs_in_this_thread() -> None:
    # What a notebook cell does: the kernel's loop is running when run_virtual is called.
    async def cell() -> list[int]:
        return run_virtual((sk.interval(10) | sk.take(3)).list)

    assert anyio.run(cell) == [0, 1, 2]


KEYS = scheduled([(0.3, "s"), (0.5, "st"), (2.6, "str"), (5.0, "stre"), (5.1, "strea")], end=7.0)


@pytest.mark.parametrize("backend", BACKENDS)
def test_marbles_records_each_stream_from_time_zero(backend: str) -> None:
    timeline = marbles(
        {
            "keys": KEYS,
            "throttle(1)": KEYS | sk.throttle(1),
            "debounce(0.5)": KEYS | sk.debounce(0.5),
            "sample(2)": KEYS | sk.sample(2),
        },
        backend=backend,  # type: ignore[arg-type]
    )
    assert timeline.lanes == ["keys", "throttle(1)", "debounce(0.5)", "sample(2)"]
    assert timeline.items("keys") == [(0.3, "s"), (0.5, "st"), (2.6, "str"), (5.0, "stre"), (5.1, "strea")]
    assert timeline.items("throttle(1)") == [(0.3, "s"), (2.6, "str"), (5.0, "stre")]
    assert timeline.items("debounce(0.5)") == [(1.0, "st"), (3.1, "str"), (5.6, "strea")]
    assert timeline.items("sample(2)") == [(2.0, "st"), (4.0, "str"), (6.0, "strea")]
    assert all(timeline.outcome(lane) == Marble(lane, 7.0, "end") for lane in timeline.lanes)


def test_marbles_until_cuts_endless_streams_which_stay_open_in_the_picture() -> None:
    timeline = marbles({"ticks": sk.interval(1), "heartbeat": sk.never() | sk.heartbeat(25, "♥")}, until=60)
    assert len(timeline.items("ticks")) == 60
    assert timeline.items("heartbeat") == [(25.0, "♥"), (50.0, "♥")]
    assert timeline.outcome("ticks") == Marble("ticks", 60.0, "closed")
    assert timeline.until == 60.0


def test_marbles_draws_a_failing_lane_and_goes_on_with_the_others() -> None:
    timeline = marbles({"stalls": KEYS | sk.timeout(2), "keys": KEYS})
    failed = timeline.outcome("stalls")
    assert failed is not None and failed.kind == "error" and failed.time == 2.5  # 0.5 + 2 s of silence
    assert isinstance(failed.value, TimeoutError)
    assert timeline.outcome("keys") == Marble("keys", 7.0, "end")


@pytest.mark.parametrize(
    ("streams", "until", "message"),
    [
        ({}, None, "non-empty dict"),
        ([sk.just(1)], None, "non-empty dict"),
        ({"": sk.just(1)}, None, "lane names"),
        ({"a": [1, 2]}, None, "lane 'a' must be a stream"),
        ({"a": sk.just(1)}, 0, "until"),
    ],
)
def test_marbles_refuses_bad_input(streams: object, until: float | None, message: str) -> None:
    with pytest.raises((TypeError, ValueError), match=message):
        marbles(streams, until=until)  # type: ignore[arg-type]


# -- drawing -----------------------------------------------------------------------------------


def bursty_timeline() -> Timeline:
    return marbles(
        {
            "keys": KEYS,
            "batch(max_wait=1)": KEYS | sk.batch(max_wait=1),
            "timeout(2)": KEYS | sk.timeout(2),
            "ticks": sk.interval(1),
        },
        until=8,
    )


def test_plot_draws_one_lane_per_probe_in_order() -> None:
    figure = bursty_timeline().plot(title="bursts")
    assert isinstance(figure, Figure)
    (axes,) = figure.axes
    # Lanes run top to bottom in the order given; matplotlib lists ticks bottom up.
    assert [tick.get_text() for tick in axes.get_yticklabels()] == ["ticks", "timeout(2)", "batch(max_wait=1)", "keys"]
    texts = {text.get_text() for text in axes.texts}
    assert {"s", "st", "str", "[s,st]", "[stre,strea]", "TimeoutError"} <= texts
    assert axes.get_title(loc="left") == "bursts"
    assert axes.get_xlim()[1] >= 8


def test_plot_draws_into_given_axes() -> None:
    figure = Figure()
    left, right = figure.subplots(1, 2)
    assert bursty_timeline().plot(ax=right) is figure
    assert not left.lines and right.lines


def test_labels_can_be_chosen_and_are_shortened() -> None:
    timeline = marbles({"words": sk.iterate(["a rather long item indeed"])})
    (axes,) = timeline.plot().axes
    assert [text.get_text() for text in axes.texts] == ["a rather long…"]
    (axes,) = timeline.plot(label=lambda item: item.split()[0]).axes
    assert [text.get_text() for text in axes.texts] == ["a"]


def test_a_timeline_is_shown_as_a_png_and_can_be_saved(tmp_path: Path) -> None:
    timeline = marbles({"ticks": sk.interval(1) | sk.take(3)})
    png = timeline._repr_png_()
    assert png is not None and png.startswith(b"\x89PNG\r\n\x1a\n")
    timeline.save(tmp_path / "timeline.png", title="saved")
    assert (tmp_path / "timeline.png").read_bytes().startswith(b"\x89PNG\r\n\x1a\n")


def test_an_empty_timeline_has_no_picture() -> None:
    assert Timeline()._repr_png_() is None
