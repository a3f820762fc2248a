"""What a framing step tells the sinks about the bytes it produces."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class Framing:
    """Marks a stream of framed bytes, so a sink needs no media-type argument.

    >>> Framing(media_type="application/x-ndjson", keepalive=b"\\n")   # doctest: +SKIP
    """

    media_type: str
    """The ``Content-Type`` a server should send."""
    headers: tuple[tuple[str, str], ...] = ()
    """Extra response headers the protocol needs (e.g. ``x-vercel-ai-ui-message-stream``)."""
    keepalive: bytes | None = None
    """Bytes a sink may write while idle that every client of the format ignores."""
    encode_error: Callable[[BaseException], bytes] | None = field(default=None, compare=False)
    """Frames an error that ends the stream after headers were sent; None: just stop."""
