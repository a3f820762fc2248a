"""Response headers for a framed stream: what every server sink sends."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

DEFAULT_MEDIA_TYPE = "application/octet-stream"

_EVENT_STREAM_HEADERS = (
    # Browsers and proxies must neither cache nor buffer an event stream (nginx honours
    # X-Accel-Buffering); compression would hold frames back until a block fills.
    ("cache-control", "no-cache"),
    ("x-accel-buffering", "no"),
)


def header_pairs(stream: Any, media_type: str | None, extra: Mapping[str, str] | None) -> list[tuple[str, str]]:
    """``(name, value)`` pairs: content type, the protocol's own headers, then ``extra``."""
    framing = getattr(stream, "framing", None)
    content_type = media_type or (framing.media_type if framing is not None else DEFAULT_MEDIA_TYPE)
    headers: dict[str, str] = {"content-type": content_type}
    if content_type.startswith("text/event-stream"):
        headers.update(_EVENT_STREAM_HEADERS)
    if framing is not None:
        headers.update((name.lower(), value) for name, value in framing.headers)
    if extra:
        headers.update((name.lower(), value) for name, value in extra.items())
    return list(headers.items())


def keepalive_for(stream: Any, content_type: str) -> bytes | None:
    """Bytes every client of the format ignores: from the framing, else known by media type."""
    framing = getattr(stream, "framing", None)
    if framing is not None and framing.keepalive is not None:
        return bytes(framing.keepalive)
    if content_type.startswith("text/event-stream"):
        return b":\n"  # a comment line; never a blank line, which would end an event block
    if content_type.startswith(("application/x-ndjson", "application/jsonl", "application/json-seq")):
        return b"\n"
    return None
