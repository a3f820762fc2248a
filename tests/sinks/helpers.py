"""Sources that report what happened to them, across threads (the server runs in its own)."""

from __future__ import annotations

import threading
from collections.abc import AsyncIterator

import anyio

import streamkit as sk
from streamkit import Framing

SSE = Framing(media_type="text/event-stream; charset=utf-8", keepalive=b":\n", encode_error=lambda e: b"event: error\ndata: failed\n\n")


class Probe:
    """A source of SSE-shaped frames: counts what it produced and whether its ``finally`` ran."""

    def __init__(self, count: int = 1_000_000, *, pause_after: int | None = None, pause: float = 3600.0, fail_after: int | None = None) -> None:
        self.count = count
        self.pause_after = pause_after
        self.pause = pause
        self.fail_after = fail_after
        self.produced = 0
        self.started = threading.Event()
        self.closed = threading.Event()

    async def frames(self) -> AsyncIterator[bytes]:
        self.started.set()
        try:
            for n in range(self.count):
                if self.fail_after is not None and n == self.fail_after:
                    raise LookupError("the source broke")
                if self.pause_after is not None and n >= self.pause_after:
                    await anyio.sleep(self.pause)
                self.produced += 1
                yield f"id: {n}\ndata: {n}\n\n".encode()
        finally:
            self.closed.set()

    def stream(self) -> sk.Stream[bytes]:
        return sk.Stream(self.frames, framing=SSE)
