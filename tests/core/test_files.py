"""from_file (lines, text, bytes; CR/CRLF; follow with appends, truncation, rotation) and
iterate(..., thread=True). Real files and threads, so these run on the real clock, with every
wait bounded.
"""

from __future__ import annotations

import os
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import anyio
import pytest

import streamkit as sk

POLL = 0.01
BOUND = 5.0  # seconds: generous, so a loaded machine does not fail these


@pytest.fixture(params=["asyncio", "trio"])
def anyio_backend(request: pytest.FixtureRequest) -> str:
    """Real clock: a virtual one would jump ahead while a worker thread reads the file."""
    return str(request.param)


def open_descriptors(path: Path) -> int:
    """How many file descriptors of this process point at ``path``."""
    count = 0
    for fd in os.listdir("/proc/self/fd"):
        try:
            if os.readlink(f"/proc/self/fd/{fd}") == str(path):
                count += 1
        except OSError:
            pass
    return count


needs_proc = pytest.mark.skipif(not os.path.isdir("/proc/self/fd"), reason="needs /proc to see open files")


def append(path: Path, data: str) -> None:
    with open(path, "a", newline="", encoding="utf-8") as file:
        file.write(data)


async def eventually(condition: Callable[[], bool]) -> None:
    with anyio.fail_after(BOUND):
        while not condition():
            await anyio.sleep(POLL)


# -- reading a whole file --------------------------------------------------------------------------

MIXED = "alpha\nbeta\r\ngamma\rdelta"


@pytest.mark.parametrize("chunk_size", [1, 2, 3, 65536])
async def test_lines_text_and_bytes(tmp_path: Path, chunk_size: int) -> None:
    path = tmp_path / "mixed.txt"
    path.write_bytes(MIXED.encode())
    assert await sk.from_file(path, chunk_size=chunk_size).list() == ["alpha", "beta", "gamma", "delta"]
    text = await sk.from_file(path, "text", chunk_size=chunk_size).list()
    assert "".join(text) == "alpha\nbeta\ngamma\ndelta"
    assert all(0 < len(chunk) <= chunk_size for chunk in text)
    raw = await sk.from_file(path, "bytes", chunk_size=chunk_size).list()
    assert b"".join(raw) == MIXED.encode()
    assert all(0 < len(chunk) <= chunk_size for chunk in raw)


@pytest.mark.parametrize(
    ("content", "lines"),
    [
        ("", []),
        ("one", ["one"]),
        ("one\n", ["one"]),
        ("a\n\nb\n", ["a", "", "b"]),
        ("a\r\n\r\nb\r\n", ["a", "", "b"]),
        ("a\r\rb\r", ["a", "", "b"]),
        ("\n", [""]),
        ("x\u2028y\x0bz\n", ["x\u2028y\x0bz"]),  # only LF, CRLF and CR end a line
    ],
)
async def test_line_ends(tmp_path: Path, content: str, lines: list[str]) -> None:
    path = tmp_path / "lines.txt"
    path.write_bytes(content.encode())
    for chunk_size in (1, 65536):
        assert await sk.from_file(path, chunk_size=chunk_size).list() == lines


async def test_encoding(tmp_path: Path) -> None:
    path = tmp_path / "utf.txt"
    path.write_bytes("héllo\nwörld €\n".encode())
    assert await sk.from_file(path, chunk_size=1).list() == ["héllo", "wörld €"]
    path.write_bytes("caf\xe9\n".encode("latin-1"))
    assert await sk.from_file(path, encoding="latin-1").list() == ["café"]
    with pytest.raises(UnicodeDecodeError):
        await sk.from_file(path).list()
    assert await sk.from_file(path, errors="replace").list() == ["caf\ufffd"]


async def test_missing_file_fails_when_run_not_when_built(tmp_path: Path) -> None:
    stream = sk.from_file(tmp_path / "nope.txt")
    with pytest.raises(FileNotFoundError):
        await stream.list()


async def test_re_runnable(tmp_path: Path) -> None:
    path = tmp_path / "again.txt"
    path.write_text("1\n2\n")
    stream = sk.from_file(path) | sk.map(int)
    assert await stream.list() == [1, 2]
    path.write_text("3\n")
    assert await stream.list() == [3]


@needs_proc
async def test_file_closed_on_end_early_stop_error_and_cancel(tmp_path: Path) -> None:
    path = tmp_path / "many.txt"
    path.write_text("".join(f"{n}\n" for n in range(1000)))
    assert await sk.from_file(path, chunk_size=16).count() == 1000
    assert open_descriptors(path) == 0

    async with sk.from_file(path, chunk_size=16).open() as lines:
        async for _ in lines:
            assert open_descriptors(path) == 1
            break
    assert open_descriptors(path) == 0

    def fail(line: str) -> str:
        raise ValueError(line)

    with pytest.raises(ValueError):
        await (sk.from_file(path) | sk.map(fail)).list()
    assert open_descriptors(path) == 0

    with anyio.move_on_after(0.2) as scope:
        async for _ in sk.from_file(path, follow=True, poll_interval=POLL):
            pass
    assert scope.cancelled_caught
    assert open_descriptors(path) == 0


# -- follow mode -----------------------------------------------------------------------------------


async def follow_while(path: Path, count: int, write: Callable[[], Any], **options: Any) -> list[str]:
    """Follow ``path`` while ``write()`` runs in a task; return the first ``count`` lines."""
    async with anyio.create_task_group() as tg:
        tg.start_soon(write)
        with anyio.fail_after(BOUND):
            lines = await (sk.from_file(path, follow=True, poll_interval=POLL, **options) | sk.take(count)).list()
    return lines


async def test_follow_waits_for_appended_lines(tmp_path: Path) -> None:
    path = tmp_path / "app.log"
    path.write_text("first\n")

    async def write() -> None:
        await anyio.sleep(0.1)
        append(path, "second\nthi")  # a partial line is held back ...
        await anyio.sleep(0.1)
        append(path, "rd\n")  # ... until its line end arrives
        await anyio.sleep(0.05)
        append(path, "fourth\r\n")

    assert await follow_while(path, 4, write) == ["first", "second", "third", "fourth"]


async def test_follow_crlf_split_between_two_writes_is_one_line_end(tmp_path: Path) -> None:
    path = tmp_path / "win.log"
    path.write_text("")

    async def write() -> None:
        append(path, "a\r")
        await anyio.sleep(0.1)  # many polls see the lone CR
        append(path, "\nb\r\n")

    assert await follow_while(path, 2, write) == ["a", "b"]


async def test_follow_from_end_skips_existing_content(tmp_path: Path) -> None:
    path = tmp_path / "app.log"
    path.write_text("old 1\nold 2\n")

    async def write() -> None:
        await anyio.sleep(0.1)
        append(path, "new\n")

    assert await follow_while(path, 1, write, from_end=True) == ["new"]


async def test_follow_starts_again_after_truncation(tmp_path: Path) -> None:
    path = tmp_path / "app.log"
    path.write_text("one\ntwo\n")
    seen: list[str] = []

    async def write() -> None:
        await eventually(lambda: len(seen) == 2)
        path.write_text("3\n")  # truncated to less than what was read, then written

    async with anyio.create_task_group() as tg:
        tg.start_soon(write)
        with anyio.fail_after(BOUND):
            async for line in sk.from_file(path, follow=True, poll_interval=POLL) | sk.tap(seen.append) | sk.take(3):
                pass
    assert seen == ["one", "two", "3"]


@pytest.mark.skipif(sys.platform == "win32", reason="renaming an open file is POSIX behaviour")
async def test_follow_reopens_a_rotated_file(tmp_path: Path) -> None:
    path = tmp_path / "app.log"
    path.write_text("before\n")
    seen: list[str] = []

    async def rotate() -> None:
        await eventually(lambda: seen == ["before"])
        path.rename(tmp_path / "app.log.1")
        await anyio.sleep(0.05)  # a moment with no file at all
        path.write_text("after\n")
        await eventually(lambda: len(seen) == 2)
        append(path, "later\n")

    async with anyio.create_task_group() as tg:
        tg.start_soon(rotate)
        with anyio.fail_after(BOUND):
            async for _ in sk.from_file(path, follow=True, poll_interval=POLL) | sk.tap(seen.append) | sk.take(3):
                pass
    assert seen == ["before", "after", "later"]


async def test_follow_bytes_mode(tmp_path: Path) -> None:
    path = tmp_path / "data.bin"
    path.write_bytes(b"\x00\x01")

    async def write() -> None:
        await anyio.sleep(0.05)
        with open(path, "ab") as file:
            file.write(b"\x02")

    async with anyio.create_task_group() as tg:
        tg.start_soon(write)
        with anyio.fail_after(BOUND):
            chunks = await (sk.from_file(path, "bytes", follow=True, poll_interval=POLL) | sk.take(2)).list()
    assert chunks == [b"\x00\x01", b"\x02"]


# -- iterate(..., thread=True) ---------------------------------------------------------------------


def slow_numbers(log: list[str], count: int = 3, pause: float = 0.1) -> Iterator[int]:
    try:
        for n in range(count):
            time.sleep(pause)  # blocks whichever thread runs it
            yield n
    finally:
        log.append(f"closed in {'main' if threading.current_thread() is threading.main_thread() else 'worker'}")


async def ticks_while(stream: sk.Stream[Any]) -> tuple[list[Any], int]:
    """Run ``stream`` while a task ticks every 10 ms; return its items and the number of ticks."""
    ticks = 0
    done = anyio.Event()

    async def tick() -> None:
        nonlocal ticks
        while not done.is_set():
            await anyio.sleep(0.01)
            ticks += 1

    async with anyio.create_task_group() as tg:
        tg.start_soon(tick)
        with anyio.fail_after(BOUND):
            items = await stream.list()
        done.set()
    return items, ticks


async def test_thread_true_does_not_block_the_loop() -> None:
    log: list[str] = []
    items, ticks = await ticks_while(sk.iterate(slow_numbers(log), thread=True))
    assert items == [0, 1, 2]
    assert ticks >= 5  # 0.3 s of blocking reads; the loop ran its ticker meanwhile
    assert log == ["closed in worker"]
    print(f"ticks while a blocking generator ran in a thread: {ticks}")


async def test_without_thread_a_blocking_generator_blocks_the_loop() -> None:
    # The contrast that shows what thread=True is for.
    log: list[str] = []
    items, ticks = await ticks_while(sk.iterate(slow_numbers(log)))
    assert items == [0, 1, 2]
    assert ticks <= 1


async def test_thread_true_early_stop_and_cancellation_close_the_iterator() -> None:
    log: list[str] = []
    async with sk.iterate(slow_numbers(log, count=100), thread=True).open() as items:
        async for item in items:
            break
    assert log == ["closed in worker"]

    log.clear()
    start = time.perf_counter()
    with anyio.move_on_after(0.25) as scope:
        async for _ in sk.iterate(slow_numbers(log, count=100), thread=True):
            pass
    assert scope.cancelled_caught
    # The current next() finishes (at most one pause), then the generator is closed.
    assert log == ["closed in worker"]
    assert time.perf_counter() - start < BOUND


async def test_thread_true_error_keeps_its_type() -> None:
    def broken() -> Iterator[int]:
        yield 1
        raise KeyError("from the thread")

    got = []
    with pytest.raises(KeyError):
        async for item in sk.iterate(broken(), thread=True):
            got.append(item)
    assert got == [1]


async def test_thread_true_reads_a_file_object(tmp_path: Path) -> None:
    path = tmp_path / "plain.txt"
    path.write_text("x\ny\n")
    with open(path) as file:
        assert await (sk.iterate(file, thread=True) | sk.map(str.strip)).list() == ["x", "y"]
