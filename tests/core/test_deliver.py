"""deliver(): the protocol every sink uses, on a virtual clock with an in-memory sink."""

from __future__ import annotations

import anyio
import pytest

import streamkit as sk
from streamkit._sinks.deliver import deliver


class SlowSink:
    """Takes ``delay`` seconds per write, like a socket whose peer reads slowly."""

    def __init__(self, delay: float = 0.0) -> None:
        self.delay = delay
        self.writes: list[tuple[float, bytes]] = []

    async def write(self, data: bytes) -> None:
        await anyio.sleep(self.delay)
        self.writes.append((anyio.current_time(), data))


SSE = sk.Framing(media_type="text/event-stream", keepalive=b":\n", encode_error=lambda e: f"event: error\ndata: {e}\n\n".encode())


async def test_ready_frames_are_joined_into_fewer_writes_when_the_sink_is_slow() -> None:
    sink = SlowSink(delay=1.0)
    frames = [f"data: {n}\n\n".encode() for n in range(40)]
    report = await deliver(sk.iterate(frames), sink, read_ahead=16)
    assert b"".join(data for _, data in sink.writes) == b"".join(frames)
    assert report.frames == 40 and report.writes == len(sink.writes) < 10


async def test_joined_writes_are_bounded_by_max_chunk() -> None:
    sink = SlowSink(delay=1.0)
    frames = [b"x" * 100 for _ in range(40)]
    await deliver(sk.iterate(frames), sink, read_ahead=40, max_chunk=250)
    assert all(len(data) <= 300 for _, data in sink.writes)


async def test_keepalive_after_each_period_of_silence_counted_from_the_last_write() -> None:
    async def source():
        yield b"data: a\n\n"
        await anyio.sleep(35)
        yield b"data: b\n\n"

    sink = SlowSink()
    await deliver(sk.Stream(source, framing=SSE), sink, heartbeat=10)
    assert sink.writes == [(0.0, b"data: a\n\n"), (10.0, b":\n"), (20.0, b":\n"), (30.0, b":\n"), (35.0, b"data: b\n\n")]


async def test_error_before_the_first_write_is_raised() -> None:
    async def source():
        raise KeyError("boom")
        yield b""

    with pytest.raises(KeyError):
        await deliver(sk.Stream(source, framing=SSE), SlowSink())


async def test_error_after_the_first_write_is_framed_and_delivery_ends() -> None:
    async def source():
        yield b"data: a\n\n"
        raise KeyError("boom")

    sink = SlowSink()
    report = await deliver(sk.Stream(source, framing=SSE), sink)
    assert [data for _, data in sink.writes] == [b"data: a\n\n", b"event: error\ndata: 'boom'\n\n"]
    assert isinstance(report.error, KeyError)


async def test_a_failing_sink_closes_the_run_and_raises() -> None:
    closed = []

    async def source():
        try:
            while True:
                yield b"data\n"
        finally:
            closed.append(True)

    class Gone:
        async def write(self, data: bytes) -> None:
            raise ConnectionResetError("peer left")

    with pytest.raises(ConnectionResetError):
        await deliver(sk.Stream(source), Gone())
    assert closed == [True]


async def test_items_that_are_not_bytes_get_a_clear_error() -> None:
    with pytest.raises(TypeError, match="to_sse"):
        await deliver(sk.iterate([{"a": 1}]), SlowSink())


async def test_str_frames_are_sent_as_utf8() -> None:
    sink = SlowSink()
    await deliver(sk.iterate(["é\n"]), sink)
    assert sink.writes == [(0.0, "é\n".encode())]


async def test_heartbeat_without_keepalive_bytes_is_refused() -> None:
    with pytest.raises(ValueError, match="keep-alive"):
        await deliver(sk.iterate([b"x"]), SlowSink(), heartbeat=5.0)
