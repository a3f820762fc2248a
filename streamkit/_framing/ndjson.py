"""Newline-delimited JSON: an incremental decoder and a one-line encoder.

One JSON value per line, lines ended by LF (a CR before it is JSON
whitespace, so CRLF files work too). Blank lines are skipped. An unterminated
last line still counts: many files lack a final newline.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Any, Final, Literal, TypeAlias

from .errors import FramingError, FrameTooLarge, NDJSONError
from .pieces import Pieces

__all__ = ["DEFAULT_MAX_LINE_SIZE", "NDJSONDecoder", "OnError", "encode_ndjson"]

#: Default bound, in bytes, on one NDJSON line.
DEFAULT_MAX_LINE_SIZE: Final = 16 * 1024 * 1024

#: What to do with a malformed line: raise :class:`NDJSONError`, log it to
#: the ``"streamkit"`` logger and skip it, or pass the error to a callable
#: and skip it (the callable may raise to stop instead).
OnError: TypeAlias = Literal["raise", "skip"] | Callable[[NDJSONError], object]

logger = logging.getLogger("streamkit")

# JSON's whitespace; bytes.strip() with no argument would also strip \x0b
# and \x0c, which JSON rejects.
_JSON_WS: Final = b" \t\r\n"
_BLANK_START: Final = frozenset((b"", b" ", b"\t", b"\r"))


def _shorten(line: bytes, limit: int = 80) -> str:
    text = line.decode("utf-8", "replace")
    return text if len(text) <= limit else text[:limit] + "..."


class NDJSONDecoder:
    """Incremental NDJSON decoder.

    >>> d = NDJSONDecoder()
    >>> d.feed(b'{"a": 1}\\n\\n[2, ')
    [{'a': 1}]
    >>> d.feed(b'3]\\r\\n"x"')
    [[2, 3]]
    >>> d.flush()
    ['x']

    ``loads`` parses one line's text (``json.loads`` by default; any
    ``str -> value`` function such as ``orjson.loads`` works). A line that
    is not valid UTF-8 or that ``loads`` rejects is malformed; ``on_error``
    says what happens then (see :data:`OnError`). A line longer than
    ``max_line_size`` bytes always raises :class:`FrameTooLarge` (``None``
    disables the bound).
    """

    __slots__ = ("_loads", "_limit", "_on_error", "_tail", "_line_number")

    def __init__(
        self,
        loads: Callable[[str], Any] = json.loads,
        *,
        max_line_size: int | None = DEFAULT_MAX_LINE_SIZE,
        on_error: OnError = "raise",
    ) -> None:
        if max_line_size is not None and max_line_size < 1:
            raise ValueError(f"max_line_size must be positive or None, got {max_line_size}")
        if on_error not in ("raise", "skip") and not callable(on_error):
            raise ValueError(f"on_error must be 'raise', 'skip' or a callable, got {on_error!r}")
        self._loads = loads
        self._limit: int = (1 << 62) if max_line_size is None else max_line_size
        self._on_error = on_error
        self._tail = Pieces(b"")  # an unterminated line
        self._line_number = 0  # lines completed so far

    def feed(self, chunk: bytes | bytearray | memoryview | str) -> list[Any]:
        """Decode the next chunk; return the values of the lines it completes."""
        if isinstance(chunk, str):
            # surrogatepass: a lone surrogate then fails UTF-8 decoding of its
            # line, which names the line, instead of failing the whole chunk.
            chunk = chunk.encode("utf-8", "surrogatepass")
        elif type(chunk) is not bytes:
            if not isinstance(chunk, (bytes, bytearray, memoryview)):
                raise TypeError(f"NDJSONDecoder.feed() takes bytes or str, not {type(chunk).__name__}")
            chunk = bytes(chunk)
        tail = self._tail
        complete = tail.complete_lines(chunk, b"\n")
        if complete is None:
            if tail.size > self._limit:
                raise self._too_large(self._line_number + 1)
            return []
        values: list[Any] = []
        try:
            self._lines(complete.split(b"\n"), values)
            if tail.size > self._limit:
                raise self._too_large(self._line_number + 1)
        except FramingError as exc:
            exc.partial = list(values)
            raise
        return values

    def flush(self) -> list[Any]:
        """End the stream: decode an unterminated last line, then reset."""
        tail = self._tail.take()
        values: list[Any] = []
        try:
            if tail:
                self._lines([tail], values)
        except FramingError as exc:
            exc.partial = list(values)
            raise
        finally:
            self._line_number = 0
        return values

    def _lines(self, lines: list[bytes], values: list[Any]) -> None:
        loads = self._loads
        limit = self._limit
        append = values.append
        number = self._line_number
        try:
            for line in lines:
                number += 1
                if line[:1] in _BLANK_START and not line.strip(_JSON_WS):
                    continue
                if line[-1:] == b"\r":
                    line = line[:-1]  # CRLF: hand loads() the line alone
                if len(line) > limit:
                    raise self._too_large(number)
                try:
                    append(loads(line.decode()))
                except Exception as exc:  # loads may be any parser, raising anything
                    self._malformed(number, line, exc)
        finally:
            self._line_number = number

    def _malformed(self, number: int, line: bytes, exc: Exception) -> None:
        reason = "not UTF-8" if isinstance(exc, UnicodeDecodeError) else str(exc)
        shown = _shorten(line)
        error = NDJSONError(
            f"malformed NDJSON on line {number}: {reason} (line: {shown!r})", number, shown
        )
        error.__cause__ = exc
        policy = self._on_error
        if callable(policy):
            policy(error)
        elif policy == "skip":
            logger.warning("skipping %s", error)
        else:
            raise error

    def _too_large(self, number: int) -> FrameTooLarge:
        return FrameTooLarge(
            f"NDJSON line {number} exceeds max_line_size={self._limit} bytes", self._limit
        )


_BROKEN_LINE: Final = "dumps() output contains a line break, which would split the NDJSON line: {!r}"


def encode_ndjson(value: Any, dumps: Callable[[Any], str | bytes] = json.dumps) -> bytes:
    """Encode ``value`` as one NDJSON line (UTF-8, ending in LF).

    ``dumps`` may return ``str`` or ``bytes`` (e.g. ``orjson.dumps``). A
    ``dumps`` that emits a line break (say ``indent=2``) would split the
    value over several lines, so that raises ``ValueError`` instead.

    >>> encode_ndjson({"a": [1, 2]})
    b'{"a": [1, 2]}\\n'
    """
    out = dumps(value)
    if isinstance(out, str):
        if "\n" in out or "\r" in out:
            raise ValueError(_BROKEN_LINE.format(out[:80]))
        return (out + "\n").encode()
    if b"\n" in out or b"\r" in out:
        raise ValueError(_BROKEN_LINE.format(out[:80]))
    return out + b"\n"
