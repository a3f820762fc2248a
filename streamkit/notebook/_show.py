"""``await show(stream)``: watch a running stream, in a notebook output or a terminal."""

from __future__ import annotations

import math
from collections.abc import AsyncIterable, Callable
from typing import Any, TextIO

import anyio

from streamkit._core.closing import describe
from streamkit._core.stream import as_stream
from streamkit._core.validate import check_callable, check_positive_int
from streamkit._ops._pumped import pumped
from streamkit._ops.transform import tap
from streamkit.notebook._outputs import NotebookOutput, TerminalOutput, in_kernel
from streamkit.notebook._views import Mode, make_view

DEFAULT_RATE = 10.0
"""Display refreshes per second: smooth to the eye, and no burden on a notebook front end."""


async def show(
    stream: AsyncIterable[Any],
    mode: Mode = "latest",
    *,
    rate: float = DEFAULT_RATE,
    max_lines: int = 20,
    format: Callable[[Any], str] | None = None,
    status: bool = True,
    file: TextIO | None = None,
) -> None:
    """Run ``stream`` to its end, showing it as it goes; returns when the stream ends.

    ``mode`` says what is shown:

    - ``"latest"``: the most recent item (a sensor, a progress counter);
    - ``"text"``: the items joined into a growing text (LLM tokens; ``str`` or UTF-8 ``bytes``);
    - ``"log"``: one line per item, the last ``max_lines`` of them.

    In a Jupyter kernel one output of the cell is updated in place; elsewhere (a script, a
    plain IPython shell) the same call prints to ``file``, stdout by default. Passing ``file``
    prints there even in a kernel. Either way the display is refreshed at most ``rate`` times
    a second, however fast items arrive, and always once more at the end, so the final state
    is what stays. ``format`` turns an item into its text (default: strings as they are, other
    items as their ``repr``). With ``status=True`` a line such as
    ``[ended: 42 items in 3.1 s]`` says whether the stream is still running and how it ended.

    The run is closed however ``show`` ends: at the stream's end, on its error (shown, then
    raised), and when the cell is interrupted (the source's ``finally`` runs before the cell
    stops). In a notebook, top-level ``await`` works::

        await show(llm_tokens, mode="text")
        await show(sensor | sk.take_until(10.0))

    To keep the items as well, tap them first: ``await show(stream | sk.tap(items.append))``.
    """
    source = as_stream(stream)
    check_rate(rate)
    check_positive_int("show(max_lines)", max_lines)
    if format is not None:
        check_callable("show(format)", format)
    if not isinstance(status, bool):
        raise TypeError(f"show(status) must be a bool, got {describe(status)}")
    view = make_view(mode, format, max_lines)

    start = anyio.current_time()

    def status_line(state: str, error: BaseException | None = None) -> str | None:
        if not status:
            return None
        elapsed = anyio.current_time() - start
        counted = f"{view.count} item{'' if view.count == 1 else 's'}"
        if error is not None:
            return f"[error after {counted} in {elapsed:.1f} s: {type(error).__name__}: {error}]"
        return f"[{state}: {counted} in {elapsed:.1f} s]"

    output = NotebookOutput(view, status_line("waiting")) if file is None and in_kernel() else TerminalOutput(view, file)
    final = "ended"
    failure: BaseException | None = None
    try:
        # Every item updates the view, which only stores it; drawing is what is rate-limited.
        await _refresh_while_running(source | tap(view.add), 1.0 / rate, lambda: output.update(status_line("running")))
    except Exception as error:
        failure = error
        raise
    except BaseException:
        final = "stopped"  # cancelled, or the cell was interrupted
        raise
    finally:
        try:
            output.finish(status_line(final, failure))
        except Exception:
            # A format= that fails on an item fails here again; the first error is the one to see.
            if failure is None and final == "ended":
                raise


async def _refresh_while_running(changes: AsyncIterable[Any], period: float, refresh: Callable[[], None]) -> None:
    """Call ``refresh`` after items of ``changes`` arrive, at most once per ``period`` seconds.

    The first item is shown at once; later ones wait for the end of the current period, so
    the last item before a pause shows within ``period``. The source is read by a background
    task, so a pending refresh happens on time even while the source is idle. The end of the
    stream is left to the caller's final refresh: a last one here would come right before it.
    """
    allowed = -math.inf  # the earliest time of the next refresh
    due = math.inf  # when a change not yet shown must be
    async with pumped(changes) as (box, pumps):
        while True:
            if not await box.wait(due):
                refresh()
                allowed, due = anyio.current_time() + period, math.inf
                continue
            try:
                box.get_nowait()
            except anyio.EndOfStream:
                break
            now = anyio.current_time()
            if now >= allowed:
                refresh()
                allowed, due = now + period, math.inf
            else:
                due = allowed
        pumps.raise_error()


def check_rate(rate: object) -> float:
    if isinstance(rate, bool) or not isinstance(rate, int | float):
        raise TypeError(f"show(rate) must be a number of updates per second, got {describe(rate)}")
    if not (0 < rate < math.inf):
        raise ValueError(f"show(rate) must be a positive, finite number of updates per second, got {rate!r}")
    return float(rate)
