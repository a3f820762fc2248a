"""Text framing: a line splitter and incremental bytes <-> str codecs.

Lines end at CR, LF or CRLF -- the line ends of network protocols and of
files from any platform -- and nowhere else: ``str.splitlines()`` would also
split on U+2028, U+0085, form feed and others, which are ordinary characters
inside, say, a JSON string.
"""

from __future__ import annotations

import codecs
from typing import Final

from .errors import FramingError, FrameTooLarge
from .pieces import Pieces

__all__ = ["DEFAULT_MAX_LINE_SIZE", "LineDecoder", "TextDecoder", "TextEncoder"]

#: Default bound, in characters, on one line.
DEFAULT_MAX_LINE_SIZE: Final = 16 * 1024 * 1024


class LineDecoder:
    """Split ``str`` chunks into lines, across chunk boundaries.

    Lines are returned without their line end. A CR at the end of a chunk
    ends a line at once (no waiting for the next chunk); an LF starting the
    next chunk is then taken as the rest of that CRLF.

    >>> d = LineDecoder()
    >>> d.feed("one\\r")
    ['one']
    >>> d.feed("\\ntwo\\rthr")
    ['two']
    >>> d.flush()
    ['thr']

    A line longer than ``max_line_size`` characters raises
    :class:`FrameTooLarge` (``None`` disables the bound).
    """

    __slots__ = ("_limit", "_pending_cr", "_tail")

    def __init__(self, *, max_line_size: int | None = DEFAULT_MAX_LINE_SIZE) -> None:
        if max_line_size is not None and max_line_size < 1:
            raise ValueError(f"max_line_size must be positive or None, got {max_line_size}")
        self._limit: int = (1 << 62) if max_line_size is None else max_line_size
        self._pending_cr = False
        self._tail = Pieces("")  # an unterminated line

    def feed(self, text: str) -> list[str]:
        """Return the lines that ``text`` completes."""
        if not isinstance(text, str):
            raise TypeError(f"LineDecoder.feed() takes str, not {type(text).__name__}")
        if self._pending_cr and text:
            self._pending_cr = False
            if text[0] == "\n":
                text = text[1:]
        if "\r" in text:
            self._pending_cr = text[-1] == "\r"
            text = text.replace("\r\n", "\n").replace("\r", "\n")
        # Pieces are kept rather than joined per chunk, which would be quadratic for a long
        # line arriving in small pieces.
        tail = self._tail
        complete = tail.complete_lines(text, "\n")
        if complete is None:
            if tail.size > self._limit:
                raise self._too_large([])
            return []
        lines = complete.split("\n")
        limit = self._limit
        if len(complete) > limit:
            # Complete lines are checked too, so whether a long line raises
            # does not depend on how the input was chunked.
            for i, line in enumerate(lines):
                if len(line) > limit:
                    raise self._too_large(lines[:i])
        if tail.size > limit:
            raise self._too_large(lines)
        return lines

    def flush(self) -> list[str]:
        """End the input: return the unterminated last line, if any, and reset."""
        line = self._tail.take()
        self._pending_cr = False
        return [line] if line else []

    def _too_large(self, partial: list[str]) -> FramingError:
        error = FrameTooLarge(f"line exceeds max_line_size={self._limit} characters", self._limit)
        error.partial = list(partial)
        return error


class TextDecoder:
    """Incremental bytes -> str decoding; multi-byte sequences may be split.

    >>> d = TextDecoder("utf-8")
    >>> d.feed(b"caf\\xc3"), d.feed(b"\\xa9"), d.flush()
    ('caf', 'é', '')

    ``errors`` is the codec error handler. The default, ``"strict"``, raises
    ``UnicodeDecodeError`` (a ``ValueError``) on bad input, so nothing is
    silently changed; ``"replace"`` gives U+FFFD as browsers do.
    """

    __slots__ = ("_decoder",)

    def __init__(self, encoding: str = "utf-8", errors: str = "strict") -> None:
        self._decoder = codecs.getincrementaldecoder(encoding)(errors=errors)

    def feed(self, chunk: bytes | bytearray | memoryview) -> str:
        """Decode ``chunk``; an incomplete trailing sequence waits for more."""
        return self._decoder.decode(chunk)

    def flush(self) -> str:
        """End the input; an incomplete trailing sequence is an error (or is replaced)."""
        text = self._decoder.decode(b"", True)
        self._decoder.reset()
        return text


class TextEncoder:
    """Incremental str -> bytes encoding (a BOM, if the codec writes one, comes once).

    >>> e = TextEncoder("utf-16")
    >>> len(e.feed("a")), len(e.feed("b"))
    (4, 2)
    """

    __slots__ = ("_encoder",)

    def __init__(self, encoding: str = "utf-8", errors: str = "strict") -> None:
        self._encoder = codecs.getincrementalencoder(encoding)(errors=errors)

    def feed(self, text: str) -> bytes:
        """Encode ``text``."""
        return self._encoder.encode(text)

    def flush(self) -> bytes:
        """End the input (stateful codecs may emit a final sequence)."""
        data = self._encoder.encode("", True)
        self._encoder.reset()
        return data
