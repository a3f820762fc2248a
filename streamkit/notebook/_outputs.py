"""Where :func:`show` draws: a notebook output updated in place, or a terminal.

Both take the same two calls, ``update`` while the stream runs and ``finish`` once at the end,
and neither awaits: refreshing a display must never be a point where the run can be cancelled
half-way through its final state.
"""

from __future__ import annotations

import sys
from typing import Any, TextIO

from streamkit.notebook._views import View


def in_kernel() -> bool:
    """True inside a Jupyter kernel (a shell with a front end that can update outputs in place).

    IPython is only consulted if it is already imported: outside IPython there is nothing to
    find, and importing it would cost a second for nothing.
    """
    ipython = sys.modules.get("IPython")
    if ipython is None:
        return False
    shell = ipython.get_ipython()
    return shell is not None and getattr(shell, "kernel", None) is not None


class NotebookOutput:
    """One output area of the running cell, replaced in place on every update."""

    def __init__(self, view: View, status: str | None) -> None:
        import IPython.display

        display: Any = IPython.display.display  # untyped upstream
        self._view = view
        self._handle: Any = display(self._bundle(status), raw=True, display_id=True)

    def _bundle(self, status: str | None) -> dict[str, str]:
        text = self._view.screen()
        if status is not None:
            text = f"{text}\n{status}" if text else status
        return {"text/plain": text}

    def update(self, status: str | None) -> None:
        self._handle.update(self._bundle(status), raw=True)

    def finish(self, status: str | None) -> None:
        self.update(status)


class TerminalOutput:
    """A text stream (stdout by default).

    A ``latest`` view rewrites one line on a terminal, and prints one line per update when the
    output is a file or a pipe (where ``\\r`` would only leave clutter); ``text`` and ``log``
    views append. The status is printed once, at the end, on a line of its own.
    """

    def __init__(self, view: View, file: TextIO | None) -> None:
        self._view = view
        self._file = file if file is not None else sys.stdout
        isatty = getattr(self._file, "isatty", None)
        self._tty = bool(isatty and isatty())
        self._line_open = False  # the cursor is not at the start of a line
        self._shown = 0  # the view's item count at the last line printed

    def update(self, status: str | None) -> None:
        view = self._view
        if view.replaces:
            line = view.fresh()
            self._shown = view.count
            if self._tty:
                self._write("\r\x1b[K" + line)
            else:
                self._write(line + "\n")
        else:
            self._write(view.fresh())
        self._file.flush()

    def finish(self, status: str | None) -> None:
        view = self._view
        if view.replaces:
            if self._tty:
                self._write("\r\x1b[K" + view.fresh())  # the final value stays on screen
            elif view.count != self._shown:  # the last item came after the last update
                self._write(view.fresh() + "\n")
        else:
            self._write(view.fresh())
        if status is not None:
            self._write(("\n" if self._line_open else "") + status + "\n")
        elif self._line_open:
            self._write("\n")
        self._file.flush()

    def _write(self, text: str) -> None:
        if text:
            self._file.write(text)
            self._line_open = not text.endswith("\n")
