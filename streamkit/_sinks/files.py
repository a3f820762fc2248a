"""Writing a stream to a file or to stdout, without blocking the event loop."""

from __future__ import annotations

import os
import sys
from collections.abc import AsyncIterable
from typing import IO, Any

import anyio
import anyio.to_thread

from streamkit._core.closing import describe
from streamkit._core.validate import check_positive_int, check_seconds
from streamkit._sinks.deliver import Delivery, deliver


class _FileSink:
    """Writes in a worker thread; flushes per write, or once ``flush_bytes`` or ``flush_interval`` is reached."""

    def __init__(self, file: IO[bytes], flush_bytes: int | None, flush_interval: float | None) -> None:
        self.file = file
        self.flush_bytes = flush_bytes
        self.flush_interval = flush_interval
        self.unflushed = 0
        self.last_flush = anyio.current_time()

    async def write(self, data: bytes) -> None:
        self.unflushed += len(data)
        now = anyio.current_time()
        flush = (
            (self.flush_bytes is None and self.flush_interval is None)
            or (self.flush_bytes is not None and self.unflushed >= self.flush_bytes)
            or (self.flush_interval is not None and now - self.last_flush >= self.flush_interval)
        )
        await anyio.to_thread.run_sync(self._write, data, flush)
        if flush:
            self.unflushed = 0
            self.last_flush = now

    def _write(self, data: bytes, flush: bool) -> None:
        self.file.write(data)
        if flush:
            self.file.flush()


async def write_file(
    stream: AsyncIterable[Any],
    target: str | os.PathLike[str] | IO[bytes],
    *,
    append: bool = False,
    flush_bytes: int | None = None,
    flush_interval: float | None = None,
) -> Delivery:
    """Write every frame of ``stream`` (bytes or str) to ``target``: a path or an open binary file.

    A path is replaced (or appended to, with ``append=True``) and closed at the end; an open
    file is left open. Writes run in a worker thread. By default every write is flushed;
    ``flush_bytes`` and/or ``flush_interval`` flush less often (always at the end).

    >>> await write_file(from_file("in.log", follow=True) | to_ndjson(), "out.ndjson", flush_interval=1.0)   # doctest: +SKIP
    """
    if flush_bytes is not None:
        check_positive_int("flush_bytes", flush_bytes)
    if flush_interval is not None:
        check_seconds("flush_interval", flush_interval)
    if isinstance(target, str | os.PathLike):
        path = os.fspath(target)
        file: IO[bytes] = await anyio.to_thread.run_sync(open, path, "ab" if append else "wb")
        owned = True
    elif hasattr(target, "write"):
        file, owned = target, False
    else:
        raise TypeError(f"write_file(target) takes a path or an open binary file, got {describe(target)}")
    try:
        return await deliver(stream, _FileSink(file, flush_bytes, flush_interval))
    finally:
        with anyio.CancelScope(shield=True):
            await anyio.to_thread.run_sync(file.close if owned else file.flush)


async def write_stdout(stream: AsyncIterable[Any], *, flush_bytes: int | None = None) -> Delivery:
    """Write every frame of ``stream`` to standard output (for command-line pipelines).

    >>> await write_stdout(from_file("app.log") | to_ndjson())   # doctest: +SKIP
    """
    return await write_file(stream, sys.stdout.buffer, flush_bytes=flush_bytes)
