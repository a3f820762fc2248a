"""``python -m streamkit cat``: read a file, stdin or URL; write it to stdout re-framed.

Input is read as bytes and split into items by ``--from`` (lines, SSE events, NDJSON values
or raw chunks); each item is framed by ``--to``. From SSE, an item is the event's data.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import AsyncIterator
from typing import Any

import anyio
import anyio.to_thread

import streamkit as sk
from streamkit._cli.progress import Progress

CHUNK = 64 * 1024


def stdin_bytes() -> sk.Stream[bytes]:
    """Standard input in chunks as they arrive (``read1`` returns what is there, so a pipe
    from ``curl -N`` flows through at once)."""

    async def run() -> AsyncIterator[bytes]:
        stream: Any = sys.stdin.buffer  # a BufferedReader: read1 returns what the pipe holds
        while chunk := await anyio.to_thread.run_sync(stream.read1, CHUNK, abandon_on_cancel=True):
            yield chunk

    return sk.Stream(run)


def url_bytes(url: str) -> sk.Stream[bytes]:
    """The body of ``GET url``; fails on an HTTP error status, naming it."""
    try:
        import httpx
    except ImportError:
        raise SystemExit("reading a URL needs httpx: pip install httpx") from None

    async def run() -> AsyncIterator[bytes]:
        async with httpx.AsyncClient(timeout=httpx.Timeout(30.0, read=None), follow_redirects=True) as client:
            async with client.stream("GET", url) as response:
                if response.status_code >= 400:
                    raise SystemExit(f"streamkit cat: GET {url} answered {response.status_code} {response.reason_phrase}")
                async for chunk in response.aiter_raw():
                    yield chunk

    return sk.Stream(run)


def source_bytes(source: str, *, follow: bool) -> sk.Stream[bytes]:
    if source == "-":
        return stdin_bytes()
    if source.startswith(("http://", "https://")):
        return url_bytes(source)
    if not os.path.exists(source):
        raise SystemExit(f"streamkit cat: no such file: {source}")
    return sk.from_file(source, "bytes", follow=follow, chunk_size=CHUNK)


def items(raw: sk.Stream[bytes], read_as: str) -> sk.Stream[Any]:
    if read_as == "lines":
        return raw | sk.decode() | sk.lines()
    if read_as == "sse":
        return raw | sk.parse_sse()
    if read_as == "ndjson":
        return raw | sk.parse_ndjson()
    if read_as == "bytes":
        return raw | sk.decode()
    raise ValueError(f"--from must be lines, sse, ndjson or bytes, got {read_as!r}")


def as_text(item: Any) -> str:
    if isinstance(item, str):
        return item
    if isinstance(item, sk.ServerSentEvent):
        return item.data
    return json.dumps(item)


def as_json_value(item: Any) -> Any:
    """For NDJSON output: an SSE event's data is decoded when it is JSON (an API's payload),
    kept as a string otherwise."""
    if isinstance(item, sk.ServerSentEvent):
        try:
            return json.loads(item.data)
        except ValueError:
            return item.data
    return item


def framed(stream: sk.Stream[Any], write_as: str) -> sk.Stream[bytes]:
    if write_as == "sse":
        return stream | sk.to_sse()
    if write_as == "ndjson":
        return stream | sk.map(as_json_value) | sk.to_ndjson()
    if write_as == "lines":
        return stream | sk.map(lambda item: as_text(item) + "\n") | sk.encode()
    if write_as == "text":
        return stream | sk.map(as_text) | sk.encode()
    raise ValueError(f"--to must be sse, ndjson, lines or text, got {write_as!r}")


def run_cat(source: str, read_as: str, write_as: str, *, follow: bool = False, progress: bool | None = None) -> int:
    """Copy ``source`` to stdout re-framed; return the exit status."""
    show = sys.stderr.isatty() if progress is None else progress
    meter = Progress(sys.stderr) if show else None

    async def copy() -> None:
        raw = source_bytes(source, follow=follow)
        if meter is not None:
            raw = raw | sk.tap(meter.read)
        output = framed(items(raw, read_as), write_as)
        if meter is not None:
            output = output | sk.tap(meter.wrote)
        await sk.write_stdout(output)

    try:
        anyio.run(copy)
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # The reader went away (``| head``): not an error for a cat.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 0
    except sk.FramingError as error:
        print(f"streamkit cat: {source}: {error}", file=sys.stderr)
        return 1
    finally:
        if meter is not None:
            meter.finish()
    return 0
