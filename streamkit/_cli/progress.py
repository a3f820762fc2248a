"""Progress on stderr for ``cat``: bytes read, items written, and the rate, redrawn at most
a few times a second on one line.

Wall-clock time (``time.monotonic``): progress is for the person watching, outside any event loop."""

from __future__ import annotations

from typing import TextIO

import time

REDRAW = 0.25
"""Seconds between redraws: often enough to look live, rarely enough to cost nothing."""
LOG_REDRAW = 2.0
"""Seconds between progress lines when stderr is not a terminal (a log file)."""


def human_bytes(count: float) -> str:
    """``1536`` -> ``'1.5 KiB'``."""
    for unit in ("B", "KiB", "MiB", "GiB"):
        if count < 1024 or unit == "GiB":
            return f"{count:.0f} {unit}" if unit == "B" else f"{count:.1f} {unit}"
        count /= 1024
    raise AssertionError("unreachable")


class Progress:
    """Counts what passes and redraws one status line on ``output``."""

    def __init__(self, output: TextIO) -> None:
        self.output = output
        self.bytes_in = 0
        self.items_out = 0
        self._started = time.monotonic()
        self._drawn = self._started
        self._terminal = output.isatty()

    def read(self, chunk: bytes) -> None:
        self.bytes_in += len(chunk)
        self._maybe_draw()

    def wrote(self, _frame: object) -> None:
        self.items_out += 1
        self._maybe_draw()

    def _maybe_draw(self) -> None:
        now = time.monotonic()
        if now - self._drawn >= (REDRAW if self._terminal else LOG_REDRAW):
            self._drawn = now
            self._draw(now, end="\r")

    def finish(self) -> None:
        self._draw(time.monotonic(), end="\n")

    def _draw(self, now: float, end: str) -> None:
        elapsed = max(now - self._started, 1e-9)
        line = (
            f"{human_bytes(self.bytes_in)} read, {self.items_out:,} items written, "
            f"{human_bytes(self.bytes_in / elapsed)}/s, {self.items_out / elapsed:,.0f} items/s, {elapsed:.1f} s"
        )
        self.output.write(f"\x1b[2K{line}{end}" if self._terminal else f"{line}\n")
        self.output.flush()
