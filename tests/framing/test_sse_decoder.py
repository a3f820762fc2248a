"""SSEDecoder behaviour beyond the conformance corpus: chunk boundaries,
fast-path/exact-path handover, size bounds, reuse, bad arguments."""

from __future__ import annotations

import pytest

from streamkit._framing.errors import FramingError, FrameTooLarge
from streamkit._framing.sse import ServerSentEvent, SSEDecoder

from .sse_oracle import parse


def _decode(chunks: list[bytes], **kwargs: int | None) -> list[tuple[str, str, str, int | None]]:
    decoder = SSEDecoder(**kwargs)
    events: list[ServerSentEvent] = []
    for chunk in chunks:
        events += decoder.feed(chunk)
    events += decoder.flush()
    return [(e.event or "", e.data, e.id or "", e.retry) for e in events]


def _all_splits(stream: bytes) -> list[list[bytes]]:
    return [[stream[:i], stream[i:]] for i in range(len(stream) + 1)]


def test_cr_at_chunk_end_then_lf_is_one_line_end() -> None:
    assert _decode([b"data: a\r", b"\ndata: b\r", b"\n\r", b"\n"]) == [("message", "a\nb", "", None)]


def test_event_ending_in_cr_dispatches_without_waiting() -> None:
    decoder = SSEDecoder()
    assert decoder.feed(b"data: a\r") == []
    assert [e.data for e in decoder.feed(b"\r")] == ["a"]
    # ...and the LF that may follow is swallowed, not taken as a blank line.
    assert decoder.feed(b"\n") == []


STREAMS = [
    b"id: 5\ndata: x\n\ndata: y\n\n",
    b"event: e\ndata: x\n\ndata: y\n\n",
    b"data: a\n\ndata: b\ndata: c\n\n\n\ndata: d\n\n",
    b"data: a\n\n: c\n\ndata:b\n\nretry: 7\n\ndata: c\n\nid\n\ndata: d\n\n",
    b"data: a\r\n\r\ndata: b\r\rdata: c\n\n",
    b"\xef\xbb\xbfdata: a\n\ndata: b\n\n",
    b"data: \n\ndata: \n\ndata: x\n\n",
    b"data: a\n\ndata: b\n",
    b"data: caf\xc3\xa9\n\ndata: \xf0\x9f\x99\x82\n\n",
]


@pytest.mark.parametrize("stream", STREAMS)
def test_every_two_way_split_matches_the_oracle(stream: bytes) -> None:
    events, _, _ = parse(stream)
    for chunks in _all_splits(stream):
        assert _decode(chunks) == events, chunks


@pytest.mark.parametrize(
    "stream",
    [
        # Lone CRs and LFs inside what a CRLF split takes as one piece.
        b"data: 1\r\n\r\ndata: A\r\rdata: B\r\n\r\ndata: 4\r\n\r\n",
        b"data: 1\r\n\r\ndata: A\n\ndata: B\r\n\r\ndata: 4\r\n\r\n",
        b"data: 1\r\n\r\ndata: A\rid: 3\r\n\r\ndata: 4\r\n\r\n",
        b"event: a\r\ndata: 1\r\n\r\nevent: b\rdata: 2\r\n\r\nevent: c\r\ndata: 3\r\n\r\n",
        b"event: a\r\ndata: 1\r\n\r\nevent: b\r\ndata: 2\r3\r\n\r\nevent: c\r\ndata: 3\r\n\r\n",
        b"event: a\r\ndata: 1\r\n\r\nevent: b\ndata: 2\r\n\r\nevent: c\r\ndata: 3\r\n\r\n",
        b"event: a\ndata: 1\n\nevent: b\nx\ndata: 2\n\nevent: \ndata: 3\n\nevent: d\ndata: 4\ndata: 5\n\n",
    ],
)
def test_pieces_that_need_the_exact_path(stream: bytes) -> None:
    events, _, _ = parse(stream)
    assert _decode([stream]) == events
    for chunks in _all_splits(stream):
        assert _decode(chunks) == events


def test_state_carried_into_a_fast_path_chunk() -> None:
    # Each first chunk leaves state that the second chunk's fast path must honour.
    assert _decode([b"id: 5\n", b"data: x\n\ndata: y\n\n"]) == [
        ("message", "x", "5", None),
        ("message", "y", "5", None),
    ]
    assert _decode([b"event: e\n", b"data: x\n\ndata: y\n\n"]) == [
        ("e", "x", "", None),
        ("message", "y", "", None),
    ]
    assert _decode([b"data: a\n", b"\ndata: b\n\n"]) == [("message", "a", "", None), ("message", "b", "", None)]
    assert _decode([b"data: a\n", b"data: b\n\n"]) == [("message", "a\nb", "", None)]
    assert _decode([b"retry: 9\n", b"data: a\n\n"]) == [("message", "a", "", 9)]


def test_events_are_real_frozen_server_sent_events() -> None:
    for event in SSEDecoder().feed(b"data: a\n\ndata: b\n\nevent: t\ndata: c\n\n"):
        assert type(event) is ServerSentEvent
        with pytest.raises(AttributeError):
            event.data = "changed"  # type: ignore[misc]
    assert SSEDecoder().feed(b"data: a\n\n") == [ServerSentEvent("a", event="message", id="")]


def test_invalid_utf8_becomes_replacement_character() -> None:
    assert _decode([b"data: a\xffb\xc3\n\n"]) == [("message", "a\ufffdb\ufffd", "", None)]
    # A sequence split over chunks is not "invalid".
    assert _decode([b"data: \xe2\x82", b"\xac\n\n"]) == [("message", "\u20ac", "", None)]


@pytest.mark.parametrize(
    ("raw", "text"),
    [
        # One U+FFFD per maximal invalid subpart, as the WHATWG Encoding
        # standard's UTF-8 decoder gives (and browsers' EventSource).
        (b"\xf0\x80\x80\x80", "\ufffd" * 4),  # overlong
        (b"\xed\xa0\x80", "\ufffd" * 3),  # encoded surrogate
        (b"\xf4\x90\x80\x80", "\ufffd" * 4),  # above U+10FFFF
        (b"\xc0\xaf", "\ufffd" * 2),
        (b"\xf0\x9f\x99a", "\ufffda"),  # truncated sequence
    ],
)
def test_replacement_matches_the_encoding_standard(raw: bytes, text: str) -> None:
    stream = b"data: " + raw + b"\n\n"
    assert _decode([stream]) == [("message", text, "", None)]
    assert _decode([stream[i : i + 1] for i in range(len(stream))]) == [("message", text, "", None)]


def test_only_cr_and_lf_end_lines() -> None:
    data = "a\u2028b\u2029c\x85d\x0be\x0cf\x1cg"
    assert _decode([f"data: {data}\n\n".encode()]) == [("message", data, "", None)]


def test_retry_too_long_for_int_is_ignored() -> None:
    assert _decode([b"retry: 5\n", b"retry: " + b"9" * 5000 + b"\ndata: x\n\n"]) == [("message", "x", "", 5)]


def test_flush_drops_the_unterminated_event_and_resets_for_a_new_stream() -> None:
    decoder = SSEDecoder()
    assert [e.id for e in decoder.feed(b"id: 1\nretry: 50\ndata: a\n\nid: 2\ndata: lost\n")] == ["1"]
    assert decoder.flush() == []
    assert (decoder.last_event_id, decoder.retry) == ("1", 50)
    # A reconnected stream starts afresh: its BOM is stripped again, the
    # half-finished event is gone, the last event ID carries over.
    assert decoder.feed(b"\xef\xbb\xbfdata: b\n\n") == [ServerSentEvent("b", event="message", id="1", retry=50)]


def test_str_chunks() -> None:
    decoder = SSEDecoder()
    assert decoder.feed("\ufeffdata: \u20ac\r") == []
    assert [e.data for e in decoder.feed("\r\n")] == ["\u20ac"]
    assert decoder.feed("") == []


def test_bytes_like_chunks() -> None:
    decoder = SSEDecoder()
    assert decoder.feed(bytearray(b"data: a")) == []
    assert [e.data for e in decoder.feed(memoryview(b"\n\n"))] == ["a"]


def test_feed_rejects_other_types() -> None:
    with pytest.raises(TypeError, match="bytes or str"):
        SSEDecoder().feed(123)  # type: ignore[arg-type]


def test_max_event_size_must_be_positive() -> None:
    with pytest.raises(ValueError, match="max_event_size"):
        SSEDecoder(max_event_size=0)


class TestMaxEventSize:
    def test_exactly_at_the_limit_is_fine(self) -> None:
        assert _decode([b"data: " + b"x" * 10 + b"\n\n"], max_event_size=16) == [("message", "x" * 10, "", None)]
        assert _decode([b"data:" + b"x" * 11 + b"\n\n"], max_event_size=16) == [("message", "x" * 11, "", None)]

    def test_unterminated_line_in_small_chunks(self) -> None:
        decoder = SSEDecoder(max_event_size=100)
        with pytest.raises(FrameTooLarge, match="max_event_size=100") as info:
            for _ in range(200):
                decoder.feed(b"xxxxxxxx")
        assert info.value.limit == 100
        assert isinstance(info.value, FramingError) and isinstance(info.value, ValueError)

    @pytest.mark.parametrize(
        "stream",
        [
            b"data: " + b"x" * 200 + b"\n\n",
            b": " + b"x" * 200 + b"\n",
            b"event: " + b"x" * 200 + b"\n",
            b"data:" + b"x" * 101 + b"\n\n",
        ],
    )
    def test_a_long_line_raises_however_it_is_chunked(self, stream: bytes) -> None:
        for chunks in ([stream], [stream[i : i + 7] for i in range(0, len(stream), 7)]):
            with pytest.raises(FrameTooLarge, match="line|event"):
                _decode(chunks, max_event_size=100)

    def test_many_short_data_lines_exceeding_the_limit(self) -> None:
        stream = b"data: xxxxxxxxx\n" * 20 + b"\n"
        with pytest.raises(FrameTooLarge, match="SSE event exceeds"):
            _decode([stream], max_event_size=100)
        with pytest.raises(FrameTooLarge, match="SSE event exceeds"):
            _decode([stream[i : i + 3] for i in range(0, len(stream), 3)], max_event_size=100)
        # The limit is per event, not per stream.
        assert len(_decode([b"data: xxxxxxxxx\n\n" * 50], max_event_size=100)) == 50

    def test_events_before_the_error_are_kept_on_it(self) -> None:
        decoder = SSEDecoder(max_event_size=50)
        with pytest.raises(FrameTooLarge) as info:
            decoder.feed(b"data: a\n\nevent: t\ndata: b\n\n" + b"data: " + b"z" * 60 + b"\n\n")
        assert [e.data for e in info.value.partial] == ["a", "b"]

    def test_no_limit(self) -> None:
        big = b"x" * (1 << 20)
        assert _decode([b"data: ", big, b"\n\n"], max_event_size=None)[0][1] == big.decode()
