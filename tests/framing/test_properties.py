"""Property tests (hypothesis): round trips through encode + any chunking +
decode, agreement with a naive spec parser, and byte soup that may raise
only the documented errors."""

from __future__ import annotations

import re
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from streamkit._framing.errors import FrameTooLarge, NDJSONError
from streamkit._framing.ndjson import NDJSONDecoder, encode_ndjson
from streamkit._framing.sse import ServerSentEvent, SSEDecoder
from streamkit._framing.text import LineDecoder, TextDecoder, TextEncoder

from .sse_oracle import parse

SETTINGS = settings(derandomize=True, deadline=None, max_examples=200)
# For a variant of a test that already runs with SETTINGS.
VARIANT = settings(derandomize=True, deadline=None, max_examples=100)

NEWLINES = ["\n", "\r", "\r\n"]
# Characters that trip naive parsers: every line end, the separators
# str.splitlines() wrongly honours, NUL, BOM, colon, space, astral chars.
TRICKY = [
    *("\n", "\r", "\r\n", "\u2028", "\u2029", "\x85", "\x0b", "\x0c", "\x1c"),
    *("\0", "\ufeff", ":", " ", "\U0001f642", "é"),
]

text = st.text(st.characters(codec="utf-8"), max_size=12)
tricky_text = st.lists(st.one_of(text, st.sampled_from(TRICKY)), max_size=6).map("".join)
one_line = tricky_text.map(lambda s: re.sub("[\r\n]", "", s))
# Short strings dense in line ends and field-like fragments.
noisy = st.lists(
    st.sampled_from(["a", "b", "\r", "\n", "\r\n", " ", ":", "data: ", "id: 1", "\u2028"]), max_size=5
).map("".join)


@st.composite
def cut_points(draw: st.DrawFn, size: int) -> list[int]:
    """0, up to 8 random cut positions, size: consecutive pairs bound chunks."""
    return [0, *sorted(draw(st.lists(st.integers(0, size), max_size=8))), size]


@st.composite
def chunked(draw: st.DrawFn, data: bytes) -> list[bytes]:
    cuts = draw(cut_points(len(data)))
    return [data[a:b] for a, b in zip(cuts, cuts[1:])]


@st.composite
def sse_events(draw: st.DrawFn) -> ServerSentEvent:
    return ServerSentEvent(
        data=draw(st.one_of(st.just(""), text, tricky_text)),
        event=draw(st.one_of(st.none(), st.just(""), one_line)),
        id=draw(st.one_of(st.none(), one_line.map(lambda s: s.replace("\0", "")))),
        retry=draw(st.one_of(st.none(), st.integers(0, 2**40))),
        comment=draw(st.one_of(st.none(), tricky_text)),
    )


def _expected(events: list[ServerSentEvent]) -> list[tuple[str, str, str, int | None]]:
    """The normalised events a parser should see (DESIGN section 7)."""
    out = []
    last_id = ""
    retry = None
    for event in events:
        if event.data == "" and event.event is None and event.id is None and event.retry is None:
            if event.comment is not None:
                continue  # a heartbeat: comment lines only, no event
        if event.id is not None:
            last_id = event.id
        if event.retry is not None:
            retry = event.retry
        data = event.data.replace("\r\n", "\n").replace("\r", "\n")
        out.append((event.event or "message", data, last_id, retry))
    return out


def _decode_sse(chunks: list[bytes] | list[str]) -> list[tuple[str, str, str, int | None]]:
    decoder = SSEDecoder()
    got: list[ServerSentEvent] = []
    for chunk in chunks:
        got += decoder.feed(chunk)
    got += decoder.flush()
    return [(e.event or "", e.data, e.id or "", e.retry) for e in got]


@SETTINGS
@given(st.lists(sse_events(), max_size=8), st.data())
def test_sse_round_trip_any_chunking(events: list[ServerSentEvent], data: st.DataObject) -> None:
    wire = b"".join(e.encode() for e in events)
    chunks = data.draw(chunked(wire))
    assert _decode_sse(chunks) == _expected(events)


@VARIANT
@given(st.lists(sse_events(), max_size=8), st.data())
def test_sse_round_trip_str_chunks(events: list[ServerSentEvent], data: st.DataObject) -> None:
    wire = "".join(e.encode().decode() for e in events)
    cuts = data.draw(cut_points(len(wire)))
    assert _decode_sse([wire[a:b] for a, b in zip(cuts, cuts[1:])]) == _expected(events)


@SETTINGS
@given(
    # Mostly clean one-line names and payloads; some with stray line ends.
    st.lists(st.tuples(st.one_of(st.none(), one_line, noisy), st.one_of(one_line, noisy)), max_size=30),
    st.sampled_from(["\n", "\r\n", "\r", "mixed"]),
    st.data(),
)
def test_sse_fast_path_shapes(items: list[tuple[str | None, str]], style: str, data: st.DataObject) -> None:
    # Streams of "data: X" and "event: E / data: X" blocks, the shapes the
    # decoder's fast paths take, in every line-end style, the last event
    # possibly unfinished, checked against the naive parser.
    parts = []
    for name, payload in items:
        # "mixed" is mostly CRLF, so that lone CRs and LFs land inside the
        # pieces of a CRLF-split chunk.
        eol = data.draw(st.sampled_from(["\r\n", "\r\n", "\r\n", "\r", "\n"])) if style == "mixed" else style
        head = "" if name is None else f"event: {name}{eol}"
        parts.append(f"{head}data: {payload}{eol}{eol}")
    wire = "".join(parts).encode()
    wire = wire[: data.draw(st.integers(max(0, len(wire) - 3), len(wire)))]
    events, _, _ = parse(wire)
    assert _decode_sse(data.draw(chunked(wire))) == events


@SETTINGS
@given(st.lists(st.tuples(st.booleans(), noisy, noisy), min_size=3, max_size=12), st.data())
def test_sse_crlf_pieces_with_stray_line_ends(items: list[tuple[bool, str, str]], data: st.DataObject) -> None:
    # CRLF streams split at "\r\n\r\ndata: " / "\r\n\r\nevent: " with lone CRs
    # and LFs inside the pieces, which must then take the exact path.
    typed = data.draw(st.booleans())
    wire = "".join(
        (f"event: {name}\r\n" if typed or extra else "") + f"data: {payload}\r\n\r\n" for extra, name, payload in items
    ).encode()
    events, _, _ = parse(wire)
    assert _decode_sse([wire]) == events
    assert _decode_sse(data.draw(chunked(wire))) == events


SSE_SOUP = st.lists(
    st.sampled_from(
        [b"data", b"data:", b"data: ", b"event:", b"id:", b"id: 7", b"retry:", b"retry: 12", b":", b" ",
         b"\n", b"\r", b"\r\n", b"\n\n", b"\x00", b"\xef\xbb\xbf", b"\xef", b"\xff", b"\xf0\x9f\x99", b"\x82",
         b"x", b"\xe2\x80\xa8", b"Data:"]
    ) | st.binary(max_size=6),
    max_size=40,
).map(b"".join)


@SETTINGS
@given(SSE_SOUP, st.data())
def test_sse_agrees_with_naive_spec_parser(soup: bytes, data: st.DataObject) -> None:
    decoder = SSEDecoder()
    got: list[ServerSentEvent] = []
    for chunk in data.draw(chunked(soup)):
        got += decoder.feed(chunk)
    events, last_id, retry = parse(soup)
    assert [(e.event, e.data, e.id, e.retry) for e in got] == events
    assert (decoder.last_event_id, decoder.retry) == (last_id, retry)


@SETTINGS
@given(st.one_of(st.binary(max_size=300), SSE_SOUP), st.data())
def test_sse_byte_soup_raises_only_documented_errors(soup: bytes, data: st.DataObject) -> None:
    decoder = SSEDecoder(max_event_size=data.draw(st.sampled_from([None, 8, 64])))
    try:
        for chunk in data.draw(chunked(soup)):
            for event in decoder.feed(chunk):
                assert type(event) is ServerSentEvent
        decoder.flush()
    except FrameTooLarge:
        pass


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)


@SETTINGS
@given(st.lists(json_values, max_size=10), st.sampled_from(["\n", "\r\n"]), st.booleans(), st.data())
def test_ndjson_round_trip_any_chunking(values: list[Any], eol: str, blank_lines: bool, data: st.DataObject) -> None:
    lines = [encode_ndjson(v).decode()[:-1] for v in values]
    if blank_lines:
        lines = [part for line in lines for part in (line, " \t")]
    wire = eol.join(lines).encode()
    if data.draw(st.booleans()):
        wire += eol.encode()  # a final line end is optional
    decoder = NDJSONDecoder()
    got: list[Any] = []
    for chunk in data.draw(chunked(wire)):
        got += decoder.feed(chunk)
    got += decoder.flush()
    assert got == values


@SETTINGS
@given(st.binary(max_size=300), st.data())
def test_ndjson_byte_soup_raises_only_documented_errors(soup: bytes, data: st.DataObject) -> None:
    decoder = NDJSONDecoder(max_line_size=data.draw(st.sampled_from([None, 8, 64])))
    try:
        for chunk in data.draw(chunked(soup)):
            decoder.feed(chunk)
        decoder.flush()
    except (NDJSONError, FrameTooLarge):
        pass
    # Under "skip" only an over-long line can stop it.
    skipping = NDJSONDecoder(on_error=lambda error: None)
    for chunk in data.draw(chunked(soup)):
        skipping.feed(chunk)
    skipping.flush()


@SETTINGS
@given(st.lists(st.one_of(text, st.sampled_from(TRICKY)), max_size=30).map("".join), st.data())
def test_line_decoder_any_chunking(source: str, data: st.DataObject) -> None:
    cuts = data.draw(cut_points(len(source)))
    decoder = LineDecoder()
    got: list[str] = []
    for a, b in zip(cuts, cuts[1:]):
        got += decoder.feed(source[a:b])
    got += decoder.flush()
    expected = re.split("\r\n|\r|\n", source)
    if expected[-1] == "":
        expected.pop()
    assert got == expected


@SETTINGS
@given(st.text(max_size=200), st.data())
def test_line_decoder_soup_raises_only_documented_errors(source: str, data: st.DataObject) -> None:
    decoder = LineDecoder(max_line_size=data.draw(st.sampled_from([None, 4, 32])))
    try:
        decoder.feed(source[: len(source) // 2])
        decoder.feed(source[len(source) // 2 :])
        decoder.flush()
    except FrameTooLarge:
        pass


@SETTINGS
@given(st.text(), st.sampled_from(["utf-8", "utf-16", "utf-8-sig", "gb18030", "shift_jis"]), st.data())
def test_text_codecs_round_trip_any_chunking(source: str, encoding: str, data: st.DataObject) -> None:
    encoder = TextEncoder(encoding, errors="replace")
    wire = encoder.feed(source) + encoder.flush()
    expected = source.encode(encoding, "replace").decode(encoding)
    decoder = TextDecoder(encoding)
    out = "".join(decoder.feed(chunk) for chunk in data.draw(chunked(wire))) + decoder.flush()
    assert out == expected
