"""What :func:`show` keeps of a stream: the latest item, the running text, or the last lines.

A view is updated for every item (cheaply: it only stores) and rendered only when the display
is refreshed, at most a few times a second. Rendering has two forms: ``screen()``, the whole
visible content (a notebook output replaces it in place), and ``fresh()``, what is new since
the last call (a terminal can only append).
"""

from __future__ import annotations

import codecs
from collections import deque
from collections.abc import Callable
from typing import Any, Literal


Mode = Literal["latest", "text", "log"]
MODES: tuple[Mode, ...] = ("latest", "text", "log")

_NOTHING: Any = object()


def _readable(item: Any) -> str:
    """An item as one would want to read it: strings as they are, anything else as its repr."""
    return item if isinstance(item, str) else repr(item)


class LatestView:
    """Only the most recent item; a terminal rewrites its line."""

    replaces = True

    def __init__(self, format: Callable[[Any], str] | None) -> None:
        self._format = format or _readable
        self._latest: Any = _NOTHING
        self.count = 0

    def add(self, item: Any) -> None:
        self._latest = item
        self.count += 1

    def screen(self) -> str:
        return "" if self._latest is _NOTHING else _checked(self._format(self._latest), "latest")

    def fresh(self) -> str:
        return self.screen()


class TextView:
    """Items joined into one growing text: the shape of an LLM token stream.

    Items are ``str``, or ``bytes`` decoded as UTF-8 (a character split across two chunks is
    kept whole); anything else needs ``format=``.
    """

    replaces = False

    def __init__(self, format: Callable[[Any], str] | None) -> None:
        self._format = format
        self._parts: list[str] = []
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self._shown = 0  # parts already returned by fresh()
        self._joined = ""  # the text of parts[:_joined_parts], kept so screen() does not re-join everything
        self._joined_parts = 0
        self.count = 0

    def add(self, item: Any) -> None:
        if self._format is not None:
            self._parts.append(_checked(self._format(item), "text"))
        elif isinstance(item, str):
            self._parts.append(item)
        elif isinstance(item, bytes | bytearray):
            self._parts.append(self._decoder.decode(item))
        else:
            raise TypeError(
                f"show(mode='text') joins str or bytes items, got {type(item).__name__} {item!r:.60}; "
                "pass format= to turn items into text (e.g. format=lambda chunk: chunk.text)"
            )
        self.count += 1

    def screen(self) -> str:
        if self._joined_parts < len(self._parts):
            self._joined += "".join(self._parts[self._joined_parts :])
            self._joined_parts = len(self._parts)
        return self._joined

    def fresh(self) -> str:
        new = "".join(self._parts[self._shown :])
        self._shown = len(self._parts)
        return new


class LogView:
    """One line per item, keeping only the last ``max_lines`` (a scrolling log with a cap)."""

    replaces = False

    def __init__(self, format: Callable[[Any], str] | None, max_lines: int) -> None:
        self._format = format or _readable
        self._items: deque[Any] = deque(maxlen=max_lines)
        self._max_lines = max_lines
        self._printed = 0  # items already returned by fresh()
        self.count = 0

    def add(self, item: Any) -> None:
        # Raw items are kept and formatted only when shown: most items of a fast stream never are.
        self._items.append(item)
        self.count += 1

    def _lines(self, newest: int) -> list[str]:
        kept = list(self._items)[-newest:] if newest else []
        return [_checked(self._format(item), "log") for item in kept]

    def screen(self) -> str:
        lines = self._lines(len(self._items))
        hidden = self.count - len(lines)
        if hidden:
            lines.insert(0, f"... {hidden} earlier line{'s' if hidden != 1 else ''}")
        return "\n".join(lines)

    def fresh(self) -> str:
        new = self.count - self._printed
        self._printed = self.count
        lines = self._lines(min(new, len(self._items)))
        skipped = new - len(lines)
        if skipped:
            lines.insert(0, f"... {skipped} line{'s' if skipped != 1 else ''} skipped")
        return "".join(line + "\n" for line in lines)


View = LatestView | TextView | LogView


def make_view(mode: str, format: Callable[[Any], str] | None, max_lines: int) -> View:
    if mode == "latest":
        return LatestView(format)
    if mode == "text":
        return TextView(format)
    if mode == "log":
        return LogView(format, max_lines)
    raise ValueError(f"show(mode=...) must be one of {', '.join(map(repr, MODES))}, got {mode!r}")


def _checked(text: object, mode: str) -> str:
    if not isinstance(text, str):
        raise TypeError(f"show(mode={mode!r}): format= must return a str, it returned {type(text).__name__} {text!r}")
    return text
