"""The response options every server sink takes, checked once when the app is built."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from streamkit._core.validate import check_positive_int, check_seconds, check_whole
from streamkit._sinks.deliver import DEFAULT_MAX_CHUNK
from streamkit._sinks.headers import header_pairs, keepalive_for


@dataclass(frozen=True, slots=True)
class ResponseOptions:
    """What :func:`asgi` and :func:`wsgi` were told about the responses they send."""

    media_type: str | None = None
    headers: Mapping[str, str] | None = None
    status: int = 200
    heartbeat: float | None = None
    on_error: Callable[[BaseException], bytes | None] | None = None
    final: bytes | None = None
    grace: float = 5.0
    max_chunk: int = DEFAULT_MAX_CHUNK

    def __post_init__(self) -> None:
        check_whole("status", self.status, minimum=100)
        if self.heartbeat is not None:
            check_seconds("heartbeat", self.heartbeat, allow_zero=False)
        check_seconds("grace", self.grace)
        check_positive_int("max_chunk", self.max_chunk)

    def header_pairs(self, stream: Any) -> list[tuple[str, str]]:
        """``(name, value)`` pairs for ``stream``: content type, protocol headers, then ours."""
        return header_pairs(stream, self.media_type, self.headers)

    def delivery(self, stream: Any, content_type: str) -> dict[str, Any]:
        """Keyword arguments for :func:`deliver` of ``stream``."""
        return {
            "heartbeat": self.heartbeat,
            "keepalive": keepalive_for(stream, content_type),
            "on_error": self.on_error,
            "final": self.final,
            "grace": self.grace,
            "max_chunk": self.max_chunk,
        }
