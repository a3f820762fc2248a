"""Decoders under hostile input: feed any chunks, check after every call what must always hold.

Shared by ``test_hostile_input.py`` (hypothesis, a few seconds) and ``benchmarks/fuzz_decoders.py``
(atheris or hypothesis, as long as you like). What must hold, for every input and chunking:

- only documented errors: :class:`FrameTooLarge` and :class:`NDJSONError` (both
  :class:`FramingError`), and ``UnicodeDecodeError`` from a strict ``TextDecoder`` in front of
  a ``LineDecoder`` (the ``lines()`` shape); errors carry what they document (``limit``,
  ``partial``, ``line_number``);
- memory bounded by the configured limit: what a decoder holds between calls (an unfinished
  line, an unfinished event's data) never exceeds it, counted from the buffers themselves;
- what comes out is well formed: lines without line ends and within the limit; events whose
  name and id could be written back as single lines, with data within the limit.

>>> harness = HARNESSES["sse"](limit=64)
>>> outcome = harness.run([b"data: x", b"\\n\\n"])      # "ok", or the documented error's name
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from streamkit._framing.errors import FramingError, FrameTooLarge, NDJSONError
from streamkit._framing.ndjson import NDJSONDecoder
from streamkit._framing.sse import ServerSentEvent, SSEDecoder
from streamkit._framing.text import LineDecoder, TextDecoder

LIMITS = (1, 16, 64, 1024)


def joined_size(parts: list[Any], sep: str | bytes) -> int:
    """The length of ``sep.join(parts)``, without joining."""
    return sum(len(part) for part in parts) + len(sep) * max(len(parts) - 1, 0)


class Harness:
    """One decoder, fed chunk by chunk, checked after every call."""

    documented: tuple[type[BaseException], ...] = (FramingError,)

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.items = 0

    def feed(self, chunk: bytes) -> list[Any]:
        raise NotImplementedError

    def flush(self) -> list[Any]:
        raise NotImplementedError

    def buffered(self) -> int:
        """Characters or bytes the decoder holds right now, by its own count (cheap)."""
        raise NotImplementedError

    def counted(self) -> int:
        """The same, counted from the buffers themselves (costs a pass over them)."""
        raise NotImplementedError

    def check_item(self, item: Any) -> None:
        pass

    def run(self, chunks: Iterable[bytes], recount: bool = True) -> str:
        """Feed ``chunks``, then flush; "ok" or the name of the documented error that ended it.

        Raises AssertionError when an invariant breaks, and lets an undocumented error through.
        With ``recount`` the buffers are also measured directly after every call (for short
        inputs: it makes a long run of tiny chunks quadratic).
        """
        try:
            for chunk in chunks:
                for item in self.feed(chunk):
                    self.check_item(item)
                self.check_buffer()
                if recount:
                    assert self.counted() == self.buffered(), (self.counted(), self.buffered())
            for item in self.flush():
                self.check_item(item)
        except self.documented as error:
            self.check_error(error)
            return type(error).__name__
        return "ok"

    def check_buffer(self) -> None:
        held = self.buffered()
        assert held <= self.limit, f"{type(self).__name__} holds {held} > limit {self.limit} between calls"

    def check_error(self, error: BaseException) -> None:
        if isinstance(error, FrameTooLarge):
            assert error.limit == self.limit, (error.limit, self.limit)
        if isinstance(error, FramingError):
            assert isinstance(error.partial, list)
            for item in error.partial:
                self.check_item(item)
        if isinstance(error, NDJSONError):
            assert error.line_number >= 1 and isinstance(error.line, str)


class SSEHarness(Harness):
    def __init__(self, limit: int) -> None:
        super().__init__(limit)
        self.decoder = SSEDecoder(max_event_size=limit)

    def feed(self, chunk: bytes) -> list[Any]:
        return self.decoder.feed(chunk)

    def flush(self) -> list[Any]:
        return self.decoder.flush()

    def buffered(self) -> int:
        # The data of an event still open counts one "\n" between lines, as it will be joined.
        return max(self.decoder._tail.size, self.decoder._data.size)

    def counted(self) -> int:
        return max(joined_size(self.decoder._tail.parts, ""), joined_size(self.decoder._data.parts, "\n"))

    def check_item(self, item: Any) -> None:
        assert type(item) is ServerSentEvent
        assert len(item.data) <= self.limit
        # Could be written back without adding a field.
        for value in (item.event, item.id):
            assert isinstance(value, str) and "\r" not in value and "\n" not in value
        assert isinstance(item.id, str) and "\0" not in item.id
        assert item.retry is None or (isinstance(item.retry, int) and item.retry >= 0)


class NDJSONHarness(Harness):
    def __init__(self, limit: int, skip: bool = False) -> None:
        super().__init__(limit)
        self.skipped: list[NDJSONError] = []
        self.decoder = NDJSONDecoder(max_line_size=limit, on_error=self.skipped.append if skip else "raise")

    def feed(self, chunk: bytes) -> list[Any]:
        return self.decoder.feed(chunk)

    def flush(self) -> list[Any]:
        return self.decoder.flush()

    def buffered(self) -> int:
        return self.decoder._tail.size

    def counted(self) -> int:
        return joined_size(self.decoder._tail.parts, b"")

    def check_item(self, item: Any) -> None:
        assert item is None or isinstance(item, bool | int | float | str | list | dict)


class LinesHarness(Harness):
    """The ``lines()`` shape: strict UTF-8 decoding, then line splitting."""

    documented = (FramingError, UnicodeDecodeError)

    def __init__(self, limit: int) -> None:
        super().__init__(limit)
        self.text = TextDecoder("utf-8")
        self.lines = LineDecoder(max_line_size=limit)

    def feed(self, chunk: bytes) -> list[Any]:
        return self.lines.feed(self.text.feed(chunk))

    def flush(self) -> list[Any]:
        return self.lines.feed(self.text.flush()) + self.lines.flush()

    def buffered(self) -> int:
        return self.lines._tail.size

    def counted(self) -> int:
        return joined_size(self.lines._tail.parts, "")

    def check_item(self, item: Any) -> None:
        assert isinstance(item, str) and "\r" not in item and "\n" not in item
        assert len(item) <= self.limit


HARNESSES: dict[str, Callable[[int], Harness]] = {
    "sse": SSEHarness,
    "ndjson": NDJSONHarness,
    "ndjson-skip": lambda limit: NDJSONHarness(limit, skip=True),
    "lines": LinesHarness,
}

# Pieces hostile input is made of: every line end, field names, NUL, a BOM, invalid and
# truncated UTF-8, JSON fragments, and long runs without a line end (see ``run``).
PIECES = [
    b"\n", b"\r", b"\r\n", b"\n\n", b"\r\r", b"data:", b"data: ", b"event: ", b"id: ", b"retry: ", b"retry: 99999999999999999999",
    b":", b" ", b"\x00", b"\xef\xbb\xbf", b"\xff", b"\xc3", b"\xe2\x80", b"\xf0\x9f\x99", b"\xed\xa0\x80", b"\x80",
    b"{", b"}", b'"', b"[1,", b"null", b"\\u0000", b"x", b"\xe2\x80\xa8",
]


def run(length: int, byte: bytes = b"x") -> bytes:
    """A run of ``length`` copies of ``byte``: a line that may be far longer than any limit."""
    return byte * length
