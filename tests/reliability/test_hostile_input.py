"""Hostile input for the decoders: huge lines, endless streams without a line end, invalid UTF-8,
NUL bytes, any chunking. Only documented errors, and memory bounded by the configured limits.

The invariants are in ``hostile.py``; here hypothesis drives them for a few seconds each
(derandomized, so a run is reproducible), and fixed cases feed 10 MB to decoders limited to
64 KiB. ``benchmarks/fuzz_decoders.py`` runs the same checks under atheris for longer.
"""

from __future__ import annotations

import tracemalloc
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import streamkit as sk
from streamkit._framing.errors import FramingError, FrameTooLarge
from streamkit._framing.steps import decode, lines, parse_ndjson, parse_sse
from tests.reliability.hostile import HARNESSES, LIMITS, PIECES, Harness, SSEHarness, run

FUZZ = settings(max_examples=200, deadline=None, derandomize=True)


@st.composite
def hostile_stream(draw: st.DrawFn, limit: int) -> bytes:
    parts = draw(
        st.lists(
            st.sampled_from(PIECES)
            | st.binary(max_size=8)
            # Runs around the limit, and far past it.
            | st.builds(run, st.sampled_from([limit - 1, limit, limit + 1, 3 * limit, 1]).filter(lambda n: n > 0), st.sampled_from([b"x", b"\xc3\xa9", b"\x00", b" "])),
            max_size=30,
        )
    )
    return b"".join(parts)


@st.composite
def chunkings(draw: st.DrawFn, data: bytes) -> list[bytes]:
    if draw(st.booleans()):
        # Some stretches byte by byte: every CRLF and UTF-8 sequence split somewhere.
        size = draw(st.integers(1, 3))
        return [data[i : i + size] for i in range(0, len(data), size)]
    cuts = sorted(draw(st.lists(st.integers(0, len(data)), max_size=12)))
    bounds = [0, *cuts, len(data)]
    return [data[a:b] for a, b in zip(bounds, bounds[1:])]


@st.composite
def cases(draw: st.DrawFn) -> tuple[int, list[bytes]]:
    limit = draw(st.sampled_from(LIMITS))
    stream = draw(hostile_stream(limit))
    return limit, draw(chunkings(stream))


@pytest.mark.parametrize("kind", list(HARNESSES))
def test_fuzz_only_documented_errors_and_bounded_buffers(kind: str) -> None:
    outcomes: dict[str, int] = {}

    @FUZZ
    @given(cases())
    def check(case: tuple[int, list[bytes]]) -> None:
        limit, chunks = case
        outcome = HARNESSES[kind](limit).run(chunks)
        outcomes[outcome] = outcomes.get(outcome, 0) + 1

    check()
    print(f"\n{kind}: {outcomes}")
    # The fuzzing really reached both ends: streams decoded whole, and streams refused.
    assert outcomes.get("ok", 0) and outcomes.get("FrameTooLarge", 0), outcomes


# -- 10 MB against a 64 KiB limit -----------------------------------------------------------------

LIMIT = 64 * 1024
TEN_MB = 10 * 1024 * 1024
CHUNK = 4096


def endless(prefix: bytes, unit: bytes, total: int = TEN_MB) -> Iterator[bytes]:
    """``prefix``, then ``unit`` repeated, in CHUNK-sized pieces, up to ``total`` bytes: never held at once."""
    chunk = (unit * (CHUNK // len(unit) + 1))[: CHUNK - CHUNK % len(unit)]
    yield prefix
    sent = len(prefix)
    while sent < total:
        # A fresh object each time, as a socket gives: the same one would be held only once.
        yield bytes(memoryview(chunk))
        sent += len(chunk)


def feed_measured(harness: Harness, chunks: Iterator[bytes]) -> tuple[str, int, int]:
    """Run ``harness`` over ``chunks``; return its outcome, the bytes fed, and the traced peak."""
    fed = 0

    def counted() -> Iterator[bytes]:
        nonlocal fed
        for chunk in chunks:
            fed += len(chunk)
            yield chunk

    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        outcome = harness.run(counted(), recount=False)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return outcome, fed, peak


NO_LINE_END: dict[str, tuple[str, bytes, bytes, int]] = {
    # kind, prefix, the unit repeated, bytes fed per unit the decoder must hold
    "sse-line": ("sse", b"data: ", b"x", 1),
    "sse-line-multibyte": ("sse", b"", b"\xc3\xa9", 2),  # the SSE limit counts characters
    "sse-event-of-many-data-lines": ("sse", b"", b"data: x\n", 4),  # each line adds "x" and a "\n"
    "sse-nul": ("sse", b"id: ", b"\x00", 1),
    "ndjson": ("ndjson", b'{"a": "', b"x", 1),
    "ndjson-skip": ("ndjson-skip", b"", b"\xff", 1),
    "lines": ("lines", b"", b"x", 1),
}


@pytest.mark.parametrize("case", list(NO_LINE_END))
def test_10_mb_without_an_end_raises_at_the_limit_holding_no_more(case: str) -> None:
    kind, prefix, unit, bytes_per_held = NO_LINE_END[case]
    outcome, fed, peak = feed_measured(HARNESSES[kind](LIMIT), endless(prefix, unit))
    print(f"\n{case}: {outcome} after {fed / 1024:.0f} KiB of 10 MiB fed, traced peak {peak / 1024:.0f} KiB")
    assert outcome == "FrameTooLarge"
    # Refused as soon as what it would have to hold passed the limit, not after reading everything...
    assert fed <= LIMIT * bytes_per_held + len(prefix) + 2 * CHUNK
    # ...and memory stayed within a small multiple of the limit (pieces, one decoded chunk, the error).
    assert peak < 6 * LIMIT


ENDLESS_BUT_BOUNDED: dict[str, tuple[str, bytes]] = {
    "sse-comments": ("sse", b": keep-alive\n"),
    "sse-blank-lines": ("sse", b"\n"),
    "sse-crs": ("sse", b"\r"),
    "sse-ids": ("sse", b"id: 7\n"),
    "sse-event-names": ("sse", b"event: e\n"),
    "sse-retries": ("sse", b"retry: 1000\n"),
    "ndjson-blank-lines": ("ndjson", b" \r\n"),
    "lines-empty-lines": ("lines", b"\r\n"),
}


@pytest.mark.parametrize("case", list(ENDLESS_BUT_BOUNDED))
def test_an_endless_stream_of_lines_that_never_make_an_item_holds_nothing(case: str) -> None:
    """An endless stream of complete lines that produce nothing (comments, blank lines, fields
    without data) is no error, and the decoder holds nothing from one call to the next.

    Four times the limit is enough to show it (10 MB of one-byte lines would only be slow)."""
    kind, unit = ENDLESS_BUT_BOUNDED[case]
    harness = HARNESSES[kind](LIMIT)
    outcome, fed, peak = feed_measured(harness, endless(b"", unit, total=4 * LIMIT))
    print(f"\n{case}: {outcome} after {fed / 1024:.0f} KiB fed, traced peak {peak / 1024:.0f} KiB")
    assert outcome == "ok" and fed >= 4 * LIMIT
    assert harness.buffered() == 0
    assert peak < 6 * LIMIT


def test_a_huge_event_is_refused_whatever_the_chunking() -> None:
    # The same 200 KiB event, whole or in pieces of every size: always refused at 64 KiB.
    event = b"data: " + b"y" * (200 * 1024) + b"\n\n"
    for size in (1 << 20, 65536, 4096, 7, 1):
        harness = SSEHarness(LIMIT)
        with pytest.raises(FrameTooLarge):
            for start in range(0, len(event), size):
                harness.decoder.feed(event[start : start + size])
                harness.check_buffer()


# -- the async steps around the decoders ----------------------------------------------------------


def parse_steps(limit: int) -> dict[str, Callable[[sk.Stream[bytes]], sk.Stream[Any]]]:
    return {
        "parse_sse": lambda s: s | parse_sse(max_event_size=limit),
        "parse_ndjson": lambda s: s | parse_ndjson(max_line_size=limit),
        "decode-lines": lambda s: s | decode() | lines(max_line_size=limit),
    }


@pytest.mark.parametrize("step", list(parse_steps(1)))
async def test_a_parse_step_refuses_10_mb_without_an_end_and_closes_its_source(step: str) -> None:
    fed = 0
    closed = False

    async def body() -> AsyncIterator[bytes]:
        nonlocal fed, closed
        try:
            for chunk in endless(b"data: " if step == "parse_sse" else b"", b"x"):
                fed += len(chunk)
                yield chunk
        finally:
            closed = True

    with pytest.raises(FrameTooLarge) as info:
        await parse_steps(LIMIT)[step](sk.Stream(body)).list()
    assert info.value.limit == LIMIT
    assert closed and fed <= LIMIT + 2 * CHUNK + 6


@pytest.mark.parametrize(
    ("step", "chunk", "before"),
    [
        ("parse_ndjson", b'{"a": 1}\n{oops}\n', [{"a": 1}]),
        ("parse_sse", b"data: 1\n\ndata: " + b"x" * 100, ["1"]),
        ("decode-lines", b"one\n" + b"x" * 100, ["one"]),
    ],
)
async def test_items_before_bad_input_in_the_same_chunk_reach_the_consumer_first(step: str, chunk: bytes, before: list[Any]) -> None:
    got: list[Any] = []
    with pytest.raises(FramingError):
        async for item in parse_steps(50)[step](sk.iterate([chunk])):
            got.append(item.data if step == "parse_sse" else item)
    assert got == before


# -- memory per character held, under the worst chunking ------------------------------------------

WORST_CASES: dict[str, tuple[str, Callable[[int], bytes]]] = {
    # A peer trickling one 3-byte character per read: one piece per character.
    "sse-line-in-1-char-pieces": ("sse", lambda n: chr(0x4E00 + n % 64).encode()),
    # An event of many one-character data lines: one string per line.
    "sse-event-of-1-char-data-lines": ("sse", lambda n: f"data: {chr(0x4E00 + n % 64)}\n".encode()),
    "ndjson-line-in-2-byte-pieces": ("ndjson", lambda n: b"ab"),
    "lines-line-in-1-char-pieces": ("lines", lambda n: chr(0x4E00 + n % 64).encode()),
}


@pytest.mark.parametrize("case", list(WORST_CASES))
def test_memory_held_stays_within_a_small_multiple_of_the_limit_whatever_the_chunking(case: str) -> None:
    kind, piece = WORST_CASES[case]
    # Fresh objects for every piece, as a socket read gives.
    outcome, fed, peak = feed_measured(HARNESSES[kind](LIMIT), (bytes(memoryview(piece(n))) for n in range(TEN_MB)))
    print(f"\n{case}: {outcome} after {fed / 1024:.0f} KiB fed, traced peak {peak / 1024:.0f} KiB = {peak / LIMIT:.0f}x the limit")
    assert outcome == "FrameTooLarge"
    assert peak < 8 * LIMIT
