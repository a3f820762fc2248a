"""Errors raised by the framing decoders.

Every decoder raises only these (plus ``TypeError`` for a chunk of the wrong
type), so a caller can tell bad input from a bug with one ``except``.

A decoder that fails part-way through a chunk has usually decoded some items
before the bad spot. They are not thrown away: the error carries them in
``partial``, in order, so an async wrapper can hand them on before it
re-raises (contract 8: bad input gets a clear error, and nothing is lost).
"""

from __future__ import annotations

from typing import Any

__all__ = ["FramingError", "FrameTooLarge", "NDJSONError"]


class FramingError(ValueError):
    """Base class for errors in framed input.

    ``partial`` holds the items the failing ``feed()``/``flush()`` call had
    decoded before the error; the decoder must not be fed again afterwards
    (except an ``NDJSONDecoder`` whose ``on_error`` policy skips bad lines).
    """

    partial: list[Any]

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.partial = []


class FrameTooLarge(FramingError):
    """A line or event grew past the decoder's configured size limit.

    Raised instead of buffering without bound when the peer never ends a line
    (or an event). ``limit`` is the configured maximum, in characters.

    >>> from streamkit._framing.sse import SSEDecoder
    >>> SSEDecoder(max_event_size=8).feed(b"data: 0123456789")
    Traceback (most recent call last):
      ...
    streamkit._framing.errors.FrameTooLarge: SSE line exceeds max_event_size=8 characters
    """

    limit: int

    def __init__(self, message: str, limit: int) -> None:
        super().__init__(message)
        self.limit = limit


class NDJSONError(FramingError):
    """An NDJSON line is not one valid JSON value.

    ``line_number`` is 1-based and counts every line of the stream, blank
    ones included, so it matches what an editor shows. ``line`` is the
    offending line (decoded text, or ``repr`` of the bytes if they were not
    UTF-8). The original exception is chained as ``__cause__``.

    >>> from streamkit._framing.ndjson import NDJSONDecoder
    >>> NDJSONDecoder().feed(b'{"a": 1}\\n{oops}\\n')
    Traceback (most recent call last):
      ...
    streamkit._framing.errors.NDJSONError: malformed NDJSON on line 2: ...
    """

    line_number: int
    line: str

    def __init__(self, message: str, line_number: int, line: str) -> None:
        super().__init__(message)
        self.line_number = line_number
        self.line = line
