"""Sinks that stop taking bytes (slow clients), on the virtual clock.

- The heartbeat wheel writes a keep-alive on an idle connection without waking its writer; when
  that write cannot complete at once (the client's buffer is full) the writer must finish it.
  This ran into ``RuntimeError: await wasn't used with future`` in the WSGI soak (fixed in
  ``streamkit/_sinks/stepping.py``).
- A shutdown ends a delivery within its grace period even when a write is blocked on a client
  that stopped reading, or when the source is always ahead of the client (fixed in
  ``streamkit/_sinks/deliver.py``; tests/reliability/test_shutdown.py has it under uvicorn).
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import anyio

import streamkit as sk


class StallingSink:
    """Takes every write, but each keep-alive stalls for ``stall`` seconds first."""

    def __init__(self, stall: float) -> None:
        self.stall = stall
        self.writes: list[tuple[float, bytes]] = []

    async def write(self, data: bytes) -> None:
        if data == b":\n":
            await anyio.sleep(self.stall)
        self.writes.append((anyio.current_time(), data))


async def frames() -> AsyncIterator[bytes]:
    yield b"data: 1\n\n"
    await anyio.sleep(10)
    yield b"data: 2\n\n"


async def test_a_keepalive_that_blocks_is_finished_by_the_writer() -> None:
    sink = StallingSink(stall=0.5)
    result = await sk.deliver(sk.Stream(frames), sink, heartbeat=3.0, keepalive=b":\n")
    written = [data for _, data in sink.writes]
    assert written[0] == b"data: 1\n\n" and written[-1] == b"data: 2\n\n"
    # Keep-alives every 3 s of the 10 s of silence, each one complete, none lost or reordered.
    assert written[1:-1] in ([b":\n"] * 2, [b":\n"] * 3)
    assert result.frames == 2 and result.error is None
    assert [t for t, _ in sink.writes][-1] == 10


class BlockedSink:
    """Takes ``good`` writes, then blocks forever: a client that stopped reading."""

    def __init__(self, good: int, pace: float = 0.0) -> None:
        self.good = good
        self.pace = pace
        self.writes: list[tuple[float, bytes]] = []

    async def write(self, data: bytes) -> None:
        if len(self.writes) >= self.good:
            await anyio.sleep_forever()
        await anyio.sleep(self.pace)
        self.writes.append((anyio.current_time(), data))


def flood(closed: list[float]) -> sk.Stream[bytes]:
    """Frames as fast as they are taken: always ahead of the sink."""

    async def frames() -> AsyncIterator[bytes]:
        try:
            n = 0
            while True:
                n += 1
                yield f"data: {n}\n\n".encode()
        finally:
            closed.append(anyio.current_time())

    return sk.Stream(frames)


async def stop_at(seconds: float) -> None:
    await anyio.sleep(seconds)
    sk.request_shutdown()


async def test_shutdown_cuts_a_write_blocked_on_a_client_that_stopped_reading_at_the_grace() -> None:
    closed: list[float] = []
    sink = BlockedSink(good=3)
    async with anyio.create_task_group() as tg:
        tg.start_soon(stop_at, 5.0)
        result = await sk.deliver(flood(closed), sink, final=b"event: bye\ndata: x\n\n", grace=2.0)
    assert (result.stopped, result.cut) == (True, True)
    assert anyio.current_time() == 7.0  # the stop at 5, plus the grace
    assert closed == [7.0]
    assert b"bye" not in b"".join(data for _, data in sink.writes)


async def test_shutdown_is_seen_even_when_the_source_is_always_ahead() -> None:
    # Each write takes 1/8 s and a frame is always waiting: the stop, in the middle of the write
    # that ends at 5.125, must still be seen at the next write, which is the final frame.
    closed: list[float] = []
    sink = BlockedSink(good=10**9, pace=0.125)
    async with anyio.create_task_group() as tg:
        tg.start_soon(stop_at, 5.0625)
        result = await sk.deliver(flood(closed), sink, final=b"event: bye\ndata: x\n\n", grace=2.0, max_chunk=1)
    assert (result.stopped, result.cut) == (True, False)
    assert sink.writes[-2][0] == 5.125 and sink.writes[-1] == (5.25, b"event: bye\ndata: x\n\n")
    assert closed == [5.25]


async def test_a_final_frame_the_client_does_not_take_is_cut_within_the_grace() -> None:
    # Idle stream; the client stops reading right when the final frame is written.
    closed: list[float] = []

    async def idle() -> AsyncIterator[bytes]:
        try:
            yield b"data: 1\n\n"
            await anyio.sleep_forever()
        finally:
            closed.append(anyio.current_time())

    sink = BlockedSink(good=1)
    async with anyio.create_task_group() as tg:
        tg.start_soon(stop_at, 5.0)
        result = await sk.deliver(sk.Stream(idle), sink, final=b"event: bye\ndata: x\n\n", grace=2.0)
    assert (result.stopped, result.cut) == (True, True)
    assert anyio.current_time() == 7.0 and closed == [7.0]
