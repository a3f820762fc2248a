"""Drawing a :class:`Timeline` as a marble diagram with matplotlib (imported only here).

Only ``matplotlib.figure.Figure`` is used, never ``pyplot``: the picture does not depend on
the backend the user (or a test run with ``MPLBACKEND=Agg``) has chosen, and drawing one never
opens a window or leaves a figure behind in pyplot's list.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from streamkit.notebook._timeline import Marble, Timeline

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

# Tableau's colour-blind-aware qualitative colours, then lighter ones: 13 before one repeats.
_PALETTE = (
    "#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#76b7b2", "#edc948", "#b07aa1",
    "#ff9da7", "#9c755f", "#a0cbe8", "#8cd17d", "#bab0ac", "#d37295",
)
_LANE_HEIGHT = 0.7  # inches per lane
_FONT_SIZE = 8.0
_CHAR_WIDTH = 0.62 * _FONT_SIZE / 72  # inches per character of a label, roughly
_MAX_LABEL = 14


def _matplotlib() -> Any:
    try:
        import matplotlib.figure
    except ImportError:  # pragma: no cover - depends on the environment
        raise ImportError(
            "drawing a Timeline needs matplotlib: pip install 'streamkit[notebook]'"
        ) from None
    return matplotlib.figure


def _default_label(value: Any) -> str:
    # A batch reads better as [a,b,c] than as "['a', 'b', 'c']" cut short.
    if isinstance(value, list | tuple):
        inner = ",".join(_default_label(part) for part in value)
        return f"[{inner}]" if isinstance(value, list) else f"({inner})"
    return str(value)


def _short(text: str) -> str:
    text = text.replace("\n", "\\n")
    return text if len(text) <= _MAX_LABEL else text[: _MAX_LABEL - 1] + "…"


class _Colours:
    """The same label gets the same colour in every lane, so one can follow an item through the
    stages; colours are handed out in order of first appearance, so neighbours differ."""

    def __init__(self) -> None:
        self._given: dict[str, str] = {}

    def __call__(self, text: str) -> str:
        colour = self._given.get(text)
        if colour is None:
            colour = self._given[text] = _PALETTE[len(self._given) % len(_PALETTE)]
        return colour


def _runs(events: list[Marble]) -> list[tuple[float, Marble | None, list[Marble]]]:
    """Split one lane's events into runs: (start time, how it finished or None, items)."""
    runs: list[tuple[float, Marble | None, list[Marble]]] = []
    start, items = 0.0, list[Marble]()
    open_run = False
    for event in events:
        if event.kind == "start":
            if open_run:
                runs.append((start, None, items))
            start, items, open_run = event.time, [], True
        elif event.kind == "item":
            items.append(event)
        else:
            runs.append((start, event, items))
            items, open_run = [], False
    if open_run:
        runs.append((start, None, items))
    return runs


class _LabelPlacer:
    """Puts each label above its marble, else below, else nowhere, so that none overlap."""

    def __init__(self, data_per_inch: float) -> None:
        self._data_per_inch = data_per_inch
        self._free_from = [float("-inf"), float("-inf")]  # above, below

    def place(self, x: float, text: str) -> int | None:
        half = (len(text) + 1) * _CHAR_WIDTH * self._data_per_inch / 2
        for level in (0, 1):
            if x - half >= self._free_from[level]:
                self._free_from[level] = x + half
                return level
        return None


def draw(
    timeline: Timeline,
    *,
    ax: Axes | None = None,
    title: str | None = None,
    label: Callable[[Any], str] | None = None,
    width: float = 10.0,
) -> Figure:
    figure_module = _matplotlib()
    lanes = timeline.lanes
    events = timeline.events
    to_text = label or _default_label
    colour = _Colours()
    for event in events:  # in time order, so colours follow the order items first appeared
        if event.kind == "item":
            colour(_short(to_text(event.value)))
    span = max([timeline.until or 0.0, *(e.time for e in events)])
    span = span if span > 0 else 1.0
    right = span * 1.04

    own_figure = ax is None
    if ax is None:
        figure: Figure = figure_module.Figure(figsize=(width, _LANE_HEIGHT * max(len(lanes), 1) + 0.9))
        ax = figure.add_subplot()
    else:
        figure = ax.get_figure()  # type: ignore[assignment]
    axes_inches = figure.get_size_inches()[0] * ax.get_position().width
    data_per_inch = (right + span * 0.04) / max(axes_inches, 1.0)

    for row, lane in enumerate(lanes):
        y = len(lanes) - 1 - row
        placer = _LabelPlacer(data_per_inch)
        for start, outcome, items in _runs([e for e in events if e.lane == lane]):
            finish = outcome.time if outcome is not None else right
            cut_by_window = outcome is not None and outcome.kind == "closed" and timeline.until is not None and outcome.time >= timeline.until
            if cut_by_window:
                finish = right
            ax.plot([start, finish], [y, y], color="#555555", linewidth=1.2, zorder=1)
            if outcome is None or cut_by_window:
                # Still running when the recording stopped.
                ax.plot([finish], [y], marker=">", color="#555555", markersize=6, zorder=1)
            for item in items:
                text = _short(to_text(item.value))
                ax.plot([item.time], [y], marker="o", markersize=11, color=colour(text),
                        markeredgecolor="#222222", markeredgewidth=0.8, zorder=3)
                level = placer.place(item.time, text)
                if level is not None:
                    ax.annotate(text, (item.time, y), xytext=(0, 9 if level == 0 else -9), textcoords="offset points",
                                ha="center", va="bottom" if level == 0 else "top", fontsize=_FONT_SIZE, zorder=4)
            if outcome is None or cut_by_window:
                continue
            if outcome.kind == "end":
                ax.plot([outcome.time], [y], marker="|", markersize=18, markeredgewidth=2.2, color="#222222", zorder=2)
            elif outcome.kind == "error":
                ax.plot([outcome.time], [y], marker="X", markersize=11, color="#d62728", zorder=4)
                ax.annotate(type(outcome.value).__name__, (outcome.time, y), xytext=(0, -9), textcoords="offset points",
                            ha="center", va="top", fontsize=_FONT_SIZE, color="#d62728")
            else:  # closed by its consumer before its end
                ax.plot([outcome.time], [y], marker="|", markersize=10, markeredgewidth=1.2, color="#999999", zorder=2)

    ax.set_yticks(range(len(lanes)), list(reversed(lanes)), fontfamily="monospace")
    ax.set_ylim(-0.7, len(lanes) - 0.3)
    ax.set_xlim(-span * 0.04, right)
    ax.set_xlabel("seconds")
    ax.grid(axis="x", color="#e6e6e6", linewidth=0.8, zorder=0)
    ax.set_axisbelow(True)
    for side in ("top", "right", "left"):
        ax.spines[side].set_visible(False)
    ax.tick_params(axis="y", length=0)
    if title is not None:
        ax.set_title(title, loc="left", fontsize=10)
    if own_figure:
        figure.tight_layout()
    return figure
