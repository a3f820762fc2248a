"""Recording when each stage of a pipeline emitted what: the data behind a marble diagram."""

from __future__ import annotations

import io
import os
from collections.abc import AsyncIterable, AsyncIterator, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, TypeVar

import anyio

from streamkit._core.closing import describe, opened
from streamkit._core.stream import Step, generator_step

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

T = TypeVar("T")

MarbleKind = Literal["start", "item", "end", "error", "closed"]


@dataclass(frozen=True, slots=True)
class Marble:
    """One thing that happened at a probe, ``time`` seconds after the timeline started.

    ``kind`` is ``"start"`` (a run began reading through the probe), ``"item"`` (``value`` is
    the item), ``"end"`` (the stream ended), ``"error"`` (``value`` is the exception) or
    ``"closed"`` (the consumer stopped the run before its end, or it was cancelled).

    >>> [m.value for m in timeline.events if m.kind == "item" and m.lane == "throttled"]   # doctest: +SKIP
    """

    lane: str
    time: float
    kind: MarbleKind
    value: Any = None


class Timeline:
    """Records, at named points of a pipeline, when each item passed and how the stream ended.

    Put a probe after each stage to watch, run the pipeline, then look at the picture (a
    timeline is shown as one in a notebook) or at :attr:`events`::

        timeline = Timeline()
        pipeline = (
            sk.interval(1) | sk.take(8) | timeline.probe("source")
            | sk.throttle(3) | timeline.probe("throttle(3)")
        )
        run_virtual(pipeline.list)      # eight seconds of pipeline, at once
        timeline                        # one lane per probe, a marble per item

    Times are seconds since the first probe of the timeline started a run (or since
    :meth:`clear`). A probe records when an item passes through it, that is when the stage
    before it produced the item for a stage that asked for it. Every run through probes of
    the same name adds to that name's lane; call :meth:`clear` between recordings.
    """

    def __init__(self) -> None:
        self._lanes: dict[str, None] = {}  # a dict keeps the order in which probes were made
        self._events: list[Marble] = []
        self._origin: float | None = None
        self.until: float | None = None
        """The length of the recording window, if one was set (:func:`marbles` sets it)."""

    def probe(self, name: str) -> Step[T, T]:
        """A step that passes every item on unchanged and records it in lane ``name``."""
        if not isinstance(name, str) or not name:
            raise TypeError(f"Timeline.probe(name) needs a non-empty str to name the lane, got {describe(name)}")
        self._lanes.setdefault(name)

        async def probed(source: AsyncIterable[Any]) -> AsyncIterator[Any]:
            self._record(name, "start")
            try:
                async with opened(source) as items:
                    async for item in items:
                        self._record(name, "item", item)
                        yield item
            except Exception as error:
                self._record(name, "error", error)
                raise
            except BaseException:
                self._record(name, "closed")
                raise
            self._record(name, "end")

        return generator_step(probed)

    def start(self) -> None:
        """Count times from now (by default they count from the first probe's first run)."""
        self._origin = anyio.current_time()

    def _record(self, lane: str, kind: MarbleKind, value: Any = None) -> None:
        now = anyio.current_time()
        if self._origin is None:
            self._origin = now
        self._events.append(Marble(lane, now - self._origin, kind, value))

    @property
    def lanes(self) -> list[str]:
        """The lane names, in the order their probes were made."""
        return list(self._lanes)

    @property
    def events(self) -> list[Marble]:
        """Everything recorded, in the order it happened."""
        return list(self._events)

    def items(self, lane: str) -> list[tuple[float, Any]]:
        """``(time, item)`` for every item recorded in ``lane``."""
        self._check_lane(lane)
        return [(e.time, e.value) for e in self._events if e.lane == lane and e.kind == "item"]

    def outcome(self, lane: str) -> Marble | None:
        """How the last run through ``lane`` finished (``end``, ``error`` or ``closed``); None while running."""
        self._check_lane(lane)
        for event in reversed(self._events):
            if event.lane == lane and event.kind != "item":
                return None if event.kind == "start" else event
        return None

    def _check_lane(self, lane: str) -> None:
        if lane not in self._lanes:
            known = ", ".join(map(repr, self._lanes)) or "none yet"
            raise KeyError(f"no lane named {lane!r} in this timeline (lanes: {known})")

    def clear(self) -> None:
        """Forget every event (the lanes stay); the next run starts a new time origin."""
        self._events.clear()
        self._origin = None

    def plot(
        self,
        *,
        ax: Axes | None = None,
        title: str | None = None,
        label: Callable[[Any], str] | None = None,
        width: float = 10.0,
    ) -> Figure:
        """Draw the timeline with matplotlib and return the figure (for ``savefig`` or tweaks).

        One horizontal lane per probe, top to bottom in the order the probes were made; a
        marble per item, labelled with ``label(item)`` (default ``str``; lists as ``[a,b]``; shortened); a bar
        where a stream ended, a red cross where it failed. Pass ``ax`` to draw into an axes
        of your own figure. In a notebook, displaying the timeline itself shows this picture.
        """
        from streamkit.notebook._plot import draw

        return draw(self, ax=ax, title=title, label=label, width=width)

    def save(self, path: str | os.PathLike[str], **plot_options: Any) -> None:
        """Draw the timeline (see :meth:`plot`) into an image file, e.g. ``timeline.png``."""
        figure = self.plot(**plot_options)
        figure.savefig(path, dpi=144, bbox_inches="tight")

    def _repr_png_(self) -> bytes | None:
        # IPython shows a Timeline as its picture. A bare matplotlib Figure would show as
        # "<Figure ...>" text unless pyplot's inline backend happened to be active.
        if not self._events:
            return None
        buffer = io.BytesIO()
        self.plot().savefig(buffer, format="png", dpi=100, bbox_inches="tight")
        return buffer.getvalue()

    def __repr__(self) -> str:
        span = max((e.time for e in self._events), default=0.0)
        return f"<Timeline: {len(self._lanes)} lane(s), {len(self._events)} event(s) over {span:g} s>"
