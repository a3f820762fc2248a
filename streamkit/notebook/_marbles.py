"""``marbles({...})``: record several named streams side by side on a virtual clock, in one call."""

from __future__ import annotations

from collections.abc import AsyncIterable, Mapping
from typing import Any

import anyio

from streamkit._core.closing import describe, opened
from streamkit._core.stream import Stream, as_stream
from streamkit._core.validate import check_seconds
from streamkit._ops.select import take_until
from streamkit.notebook._timeline import Timeline
from streamkit.notebook._virtual import Backend, run_virtual


def marbles(
    streams: Mapping[str, AsyncIterable[Any]], *, until: float | None = None, backend: Backend = "asyncio"
) -> Timeline:
    """Run every stream of ``streams`` at once on a fresh virtual clock and record each in a lane.

    The keys name the lanes. Each stream is a run of its own, all starting at time 0, so a
    cold source and a few operators applied to it can be compared side by side::

        clicks = sk.iterate([0.2, 0.5, 0.6, 2.0, 2.1, 2.2, 4.5]) | ...  # some timed source
        marbles({
            "clicks": clicks,
            "throttle(1)": clicks | sk.throttle(1),
            "debounce(0.5)": clicks | sk.debounce(0.5),
        }, until=6)

    ``until`` stops every run after that many (virtual) seconds, which never-ending streams
    (``interval``, ``heartbeat``) need; a lane still running then ends in an arrow. A stream
    that fails is drawn with a red cross where it failed; the others go on. Returns the
    :class:`Timeline`, which a notebook shows as a picture.
    """
    if not isinstance(streams, Mapping) or not streams:
        raise TypeError(f"marbles(streams) takes a non-empty dict of lane name -> stream, got {describe(streams)}")
    for name, stream in streams.items():
        if not isinstance(name, str) or not name:
            raise TypeError(f"marbles(streams): lane names must be non-empty str, got {describe(name)}")
        if not isinstance(stream, AsyncIterable):
            raise TypeError(f"marbles(streams): lane {name!r} must be a stream or async iterable, got {describe(stream)}")
    window = None if until is None else check_seconds("marbles(until)", until, allow_zero=False)

    timeline = Timeline()
    timeline.until = window
    lanes: list[Stream[Any]] = []
    for name, stream in streams.items():
        lane = as_stream(stream) | timeline.probe(name)
        if window is not None:
            # After the probe, so a lane cut by the window shows as still running, not as ended.
            lane = lane | take_until(window)
        lanes.append(lane)

    async def record() -> None:
        timeline.start()
        async with anyio.create_task_group() as group:
            for lane in lanes:
                group.start_soon(_drain, lane)

    run_virtual(record, backend=backend)
    return timeline


async def _drain(lane: Stream[Any]) -> None:
    try:
        async with opened(lane) as items:
            async for _ in items:
                pass
    except Exception:
        pass  # the probe has recorded it, and it is drawn; the other lanes go on
