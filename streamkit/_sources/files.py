"""Reading files without blocking the event loop: :func:`from_file`, with an optional tail mode."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import IO, Any, Literal, overload

import anyio
import anyio.to_thread

from streamkit._core.closing import describe
from streamkit._core.stream import Stream
from streamkit._core.validate import check_positive_int, check_seconds

FileMode = Literal["lines", "text", "bytes"]
_MODES = ("lines", "text", "bytes")
DEFAULT_CHUNK_SIZE = 64 * 1024


@overload
def from_file(
    path: str | os.PathLike[str], mode: Literal["lines", "text"] = ..., *, encoding: str = ...,
    errors: str = ..., chunk_size: int = ..., follow: bool = ..., poll_interval: float = ..., from_end: bool = ...,
) -> Stream[str]: ...
@overload
def from_file(
    path: str | os.PathLike[str], mode: Literal["bytes"], *, encoding: str = ...,
    errors: str = ..., chunk_size: int = ..., follow: bool = ..., poll_interval: float = ..., from_end: bool = ...,
) -> Stream[bytes]: ...
def from_file(
    path: str | os.PathLike[str],
    mode: FileMode = "lines",
    *,
    encoding: str = "utf-8",
    errors: str = "strict",
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    follow: bool = False,
    poll_interval: float = 0.25,
    from_end: bool = False,
) -> Stream[Any]:
    """Stream a file's contents: ``"lines"`` (without their line ends), ``"text"`` or ``"bytes"`` chunks.

    Reads happen in a worker thread, ``chunk_size`` at a time. Lines are split on LF, CRLF and
    CR (universal newlines). The file is opened when a run starts and closed when it ends.

    With ``follow=True`` the stream does not end at the end of the file: like ``tail -F`` it
    waits for appended data (checking every ``poll_interval`` seconds), starts again from the
    top when the file is truncated, and reopens it when it is replaced (log rotation). A
    partial last line is held until its line end arrives. ``from_end=True`` skips what the
    file already holds.

    >>> async for line in from_file("app.log", follow=True):   # doctest: +SKIP
    ...     print(line)
    """
    if mode not in _MODES:
        raise ValueError(f"mode must be one of {', '.join(map(repr, _MODES))}, got {mode!r}")
    if not isinstance(path, str | os.PathLike):
        raise TypeError(f"path must be a str or os.PathLike, got {describe(path)}")
    check_positive_int("chunk_size", chunk_size)
    check_seconds("poll_interval", poll_interval, allow_zero=False)
    file_path = Path(path)

    async def run() -> AsyncIterator[Any]:
        reader = _Reader(file_path, binary=mode == "bytes", encoding=encoding, errors=errors)
        partial = ""
        after_cr = False
        try:
            # Inside the try: a cancellation delivered when the thread returns still closes the file.
            await anyio.to_thread.run_sync(reader.open, from_end)
            while True:
                chunk = await anyio.to_thread.run_sync(reader.read, chunk_size)
                if not chunk:
                    if not follow:
                        break
                    if not await anyio.to_thread.run_sync(reader.check_moved):
                        await anyio.sleep(poll_interval)
                    continue
                if mode == "bytes":
                    yield chunk
                    continue
                chunk, after_cr = _newlines_to_lf(chunk, after_cr)
                if not chunk:
                    continue
                if mode == "text":
                    yield chunk
                    continue
                lines = (partial + chunk).split("\n")
                partial = lines.pop()
                for line in lines:
                    yield line
            if partial:
                yield partial
        finally:
            with anyio.CancelScope(shield=True):
                await anyio.to_thread.run_sync(reader.close)

    return Stream(run)


def _newlines_to_lf(text: str, after_cr: bool) -> tuple[str, bool]:
    """``text`` with CRLF and CR turned into LF, and whether it ended with a CR.

    A CR ends its line at once (no waiting for the next read in follow mode); an LF right
    after it, even at the start of the next chunk, belongs to the same line end.
    """
    if after_cr and text.startswith("\n"):
        text = text[1:]
    return text.replace("\r\n", "\n").replace("\r", "\n"), text.endswith("\r")


class _Reader:
    """The blocking half: runs in worker threads, one call at a time."""

    def __init__(self, path: Path, *, binary: bool, encoding: str, errors: str) -> None:
        self.path = path
        self.binary = binary
        self.encoding = encoding
        self.errors = errors
        self.file: IO[Any] | None = None
        self.identity: tuple[int, int] | None = None

    def open(self, from_end: bool = False) -> None:
        if self.binary:
            self.file = open(self.path, "rb")  # noqa: SIM115 - closed by close()
        else:
            # newline="": line ends arrive untranslated; _newlines_to_lf handles a CRLF split
            # between two reads, which universal newlines would turn into two line ends.
            self.file = open(self.path, encoding=self.encoding, errors=self.errors, newline="")  # noqa: SIM115
        stat = os.fstat(self.file.fileno())
        self.identity = (stat.st_dev, stat.st_ino)
        if from_end:
            self.file.seek(0, os.SEEK_END)

    def close(self) -> None:
        if self.file is not None:
            self.file.close()
            self.file = None

    def read(self, size: int) -> Any:
        assert self.file is not None
        return self.file.read(size)

    def check_moved(self) -> bool:
        """After EOF in follow mode: reopen a replaced file, rewind a truncated one. True if changed."""
        assert self.file is not None
        try:
            stat = os.stat(self.path)
        except FileNotFoundError:
            return False  # rotated away and not yet recreated: keep waiting
        if (stat.st_dev, stat.st_ino) != self.identity:
            self.close()
            self.open()
            return True
        position = os.lseek(self.file.fileno(), 0, os.SEEK_CUR)
        if stat.st_size < position:
            self.file.seek(0)
            return True
        return False
