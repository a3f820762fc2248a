"""No user-controlled value can add an SSE field or an event.

What a server puts in an event (a model's text, a user's message, an error message, an id from
a database) may contain line breaks and text that looks like SSE fields. Encoded by streamkit,
it must arrive as the same value in the same single event, in every client: checked by decoding
the encoder's output with streamkit's ``SSEDecoder``, with httpx-sse's decoder, and with the
OpenAI SDK's decoder. Event names and ids, which cannot carry a line break at all, are refused
with a ``ValueError`` that names the field.

Covered: the encoders (``ServerSentEvent.encode``, ``encode_event``, ``encode_comment``,
``data_encoder``, ``numbered_data_encoder``), the ``to_sse`` step built on them, and the error
frame a sink writes when a stream fails after its first event.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import streamkit as sk

from streamkit._framing.sse import (
    ServerSentEvent,
    SSEDecoder,
    data_encoder,
    encode_comment,
    encode_event,
    numbered_data_encoder,
)
from streamkit._framing.steps import SSE_FRAMING, to_sse

Parsed = tuple[str, str, str, int | None]
"""(event name or "message", data, last event id or "", retry): what a client acts on."""

NEWLINES = {"LF": "\n", "CR": "\r", "CRLF": "\r\n"}
FIELD_LOOKALIKES = ["data: injected", "data:injected", "event: evil", "id: 666", "retry: 1", "", "id", "data", ": comment"]


def hostile_values() -> Iterator[str]:
    """Every line end before, inside and after text that would be a field on a line of its own."""
    for name, newline in NEWLINES.items():
        for lookalike in FIELD_LOOKALIKES:
            yield f"x{newline}{lookalike}"
            yield f"{newline}{lookalike}{newline}"
            yield f"x{newline}{newline}{lookalike}{newline}{newline}y"
    yield "a\rb"
    yield "a\r\rb\n\nc\r\n\r\nd"


# -- three decoders -------------------------------------------------------------------------------


def decode_streamkit(payload: bytes) -> list[Parsed]:
    decoder = SSEDecoder()
    events = [e for chunk in (payload[: len(payload) // 2], payload[len(payload) // 2 :]) for e in decoder.feed(chunk)]
    events += decoder.flush()
    return [(e.event or "message", e.data, e.id or "", e.retry) for e in events]


def decode_httpx_sse(payload: bytes) -> list[Parsed]:
    from httpx_sse._decoders import SSEDecoder as HttpxSSEDecoder
    from httpx_sse._decoders import SSELineDecoder

    lines = SSELineDecoder()
    decoder = HttpxSSEDecoder()
    events = []
    text = payload.decode()
    for line in [*lines.decode(text), *lines.flush()]:
        event = decoder.decode(line)
        if event is not None:
            events.append((event.event or "message", event.data, event.id or "", event.retry))
    return events


def decode_openai(payload: bytes) -> list[Parsed]:
    from openai._streaming import SSEDecoder as OpenAISSEDecoder

    # Byte by byte: the SDK's own line splitting sees every boundary.
    events = OpenAISSEDecoder().iter_bytes(iter([payload[i : i + 1] for i in range(len(payload))]))
    return [(e.event or "message", e.data, e.id or "", e.retry) for e in events]


DECODERS: dict[str, Callable[[bytes], list[Parsed]]] = {
    "streamkit": decode_streamkit,
    "httpx-sse": decode_httpx_sse,
    "openai": decode_openai,
}


def decoded_everywhere(payload: bytes) -> list[Parsed]:
    """What all three decoders agree ``payload`` says (fails if any disagrees)."""
    results = {name: decode(payload) for name, decode in DECODERS.items()}
    first = results["streamkit"]
    for name, events in results.items():
        assert events == first, f"{name} reads {payload!r} as {events}, streamkit as {first}"
    return first


def lines_of(data: str) -> str:
    """``data`` as a client sees it: every CR, LF or CRLF becomes LF."""
    return data.replace("\r\n", "\n").replace("\r", "\n")


# -- event names and ids cannot carry a line break ------------------------------------------------


@pytest.mark.parametrize("newline", list(NEWLINES.values()), ids=list(NEWLINES))
@pytest.mark.parametrize("where", ["start", "middle", "end"])
def test_a_line_break_in_an_event_name_is_refused_naming_the_field(newline: str, where: str) -> None:
    name = {"start": newline + "evil", "middle": "ev" + newline + "data: x", "end": "evil" + newline}[where]
    for build in (
        lambda: ServerSentEvent("x", event=name),
        lambda: encode_event("x", event=name),
        lambda: data_encoder(name),
        lambda: numbered_data_encoder(name),
    ):
        with pytest.raises(ValueError, match="SSE field 'event' must not contain CR or LF"):
            build()


@pytest.mark.parametrize("newline", list(NEWLINES.values()), ids=list(NEWLINES))
@pytest.mark.parametrize("where", ["start", "middle", "end"])
def test_a_line_break_in_an_id_is_refused_naming_the_field(newline: str, where: str) -> None:
    id = {"start": newline + "1", "middle": "1" + newline + "retry: 1", "end": "1" + newline}[where]
    with pytest.raises(ValueError, match="SSE field 'id' must not contain CR or LF"):
        ServerSentEvent("x", id=id)
    with pytest.raises(ValueError, match="SSE field 'id' must not contain CR or LF"):
        encode_event("x", id=id)


def test_nul_in_an_id_is_refused_naming_the_field() -> None:
    # A client ignores an id with NUL: sending one would silently keep the previous Last-Event-ID.
    for id in ("\0", "1\0", "\x002"):
        with pytest.raises(ValueError, match="SSE field 'id' must not contain NUL"):
            ServerSentEvent("x", id=id)


@pytest.mark.parametrize("separator", ["\u2028", "\u2029", "\x85", "\x0b", "\x0c", "\x1c", "\x1e", "\0"])
def test_characters_that_are_not_sse_line_ends_stay_inside_their_field(separator: str) -> None:
    # str.splitlines() would split on these; SSE does not, and no client here does.
    event = separator.join(["evil", "data: x"])
    id = "" if separator == "\0" else separator.join(["1", "retry: 1"])
    payload = ServerSentEvent(f"a{separator}b", event=event, id=id or None).encode()
    assert decoded_everywhere(payload) == [(event, f"a{separator}b", id, None)]


# -- data and comments can, and never become fields -----------------------------------------------


@pytest.mark.parametrize("value", list(hostile_values()))
def test_hostile_data_stays_one_event_with_the_same_data(value: str) -> None:
    for payload in (ServerSentEvent(value, event="delta", id="7").encode(), encode_event(value, event="delta", id="7")):
        assert decoded_everywhere(payload) == [("delta", lines_of(value), "7", None)]
    assert decoded_everywhere(data_encoder("delta")(value)) == [("delta", lines_of(value), "", None)]
    assert decoded_everywhere(data_encoder()(value)) == [("message", lines_of(value), "", None)]
    assert decoded_everywhere(numbered_data_encoder("delta")(value, 3)) == [("delta", lines_of(value), "3", None)]


def test_a_lone_cr_in_data_is_a_new_data_line_not_a_new_field() -> None:
    assert ServerSentEvent("a\rid: 666").encode() == b"data: a\ndata: id: 666\n\n"
    assert data_encoder()("a\revent: evil") == b"data: a\ndata: event: evil\n\n"
    assert decoded_everywhere(ServerSentEvent("a\rid: 666\rretry: 1").encode()) == [("message", "a\nid: 666\nretry: 1", "", None)]


@pytest.mark.parametrize("value", list(hostile_values()))
def test_hostile_comments_become_comment_lines_only(value: str) -> None:
    # A comment with the event: every line of it stays a comment.
    payload = ServerSentEvent("real", comment=value).encode()
    assert all(line.startswith(b":") for line in payload.split(b"\n")[:-3]), payload
    assert decoded_everywhere(payload) == [("message", "real", "", None)]
    # A comment alone (a heartbeat): no event at all, and the next event is untouched.
    for heartbeat in (ServerSentEvent(comment=value).encode(), encode_comment(value)):
        assert b"\n\n" not in heartbeat, "a comment must never end an event block"
        assert decoded_everywhere(heartbeat) == []
        assert decoded_everywhere(heartbeat + encode_event("next", id="1")) == [("message", "next", "1", None)]
        # ...nor one begun before it.
        begun = b"event: half\ndata: 1\n"
        assert decoded_everywhere(begun + heartbeat + b"data: 2\n\n") == [("half", "1\n2", "", None)]


# -- any values at all ----------------------------------------------------------------------------

TRICKY = ["\n", "\r", "\r\n", "data: ", "event: ", "id: ", "retry: ", ":", " ", "\u2028", "\x85", "\0", "é", "\U0001f642", "x"]
anything = st.lists(st.sampled_from(TRICKY) | st.text(max_size=4), max_size=8).map("".join)
one_line = anything.map(lambda s: s.replace("\r", "").replace("\n", ""))


@st.composite
def user_events(draw: st.DrawFn) -> ServerSentEvent:
    return ServerSentEvent(
        data=draw(anything),
        event=draw(st.none() | one_line.filter(bool)),
        id=draw(st.none() | one_line.map(lambda s: s.replace("\0", ""))),
        retry=draw(st.none() | st.integers(0, 10**6)),
        comment=draw(st.none() | anything),
    )


@settings(max_examples=150, deadline=None, derandomize=True)
@given(st.lists(st.one_of(user_events(), anything.map(lambda c: ServerSentEvent(comment=c))), max_size=5))
def test_any_user_values_give_exactly_the_events_sent(events: list[ServerSentEvent]) -> None:
    payload = b"".join(event.encode() for event in events)
    expected: list[Parsed] = []
    last_id, retry = "", None
    for event in events:
        if event.id is not None:
            last_id = event.id
        if event.retry is not None:
            retry = event.retry
        if not (event.comment is not None and event.data == "" and event.event is None and event.id is None and event.retry is None):
            expected.append((event.event or "message", lines_of(event.data), last_id, retry))
    # httpx-sse and the OpenAI SDK keep retry per event rather than per stream: compare without it.
    results = {name: decode(payload) for name, decode in DECODERS.items()}
    assert results["streamkit"] == expected
    for name in ("httpx-sse", "openai"):
        assert [e[:3] for e in results[name]] == [e[:3] for e in expected], name


@settings(max_examples=200, deadline=None, derandomize=True)
@given(anything)
def test_any_event_name_or_id_either_round_trips_or_is_refused(value: str) -> None:
    for field in ("event", "id"):
        try:
            event = ServerSentEvent("x", **{field: value})  # type: ignore[arg-type]
        except ValueError as error:
            assert f"SSE field {field!r}" in str(error)
            assert "\r" in value or "\n" in value or (field == "id" and "\0" in value)
            continue
        parsed = decoded_everywhere(event.encode())
        assert len(parsed) == 1
        assert parsed[0][0 if field == "event" else 2] == (value or ("message" if field == "event" else ""))


# -- to_sse: the step that frames a pipeline's items ----------------------------------------------


async def test_to_sse_frames_hostile_items_as_exactly_their_events() -> None:
    values = list(hostile_values())
    items: list[object] = [
        *values,
        *(ServerSentEvent(value, event="delta") for value in values),
        *({"text": value} for value in values),
        ServerSentEvent(comment="ping\nevent: evil\r\rdata: x"),  # a heartbeat: no event, no id
    ]
    frames = await (sk.iterate(items) | to_sse(ids=True, done="[DONE]")).list()
    parsed = decoded_everywhere(b"".join(frames))
    expected = [("message", lines_of(v), str(n), None) for n, v in enumerate(values, 1)]
    expected += [("delta", lines_of(v), str(n), None) for n, v in enumerate(values, len(values) + 1)]
    last = 2 * len(values)
    assert parsed[: len(expected)] == expected
    json_events = parsed[len(expected) : len(expected) + len(values)]
    assert [json.loads(data) for _, data, _, _ in json_events] == [{"text": v} for v in values]
    assert [id for _, _, id, _ in json_events] == [str(n) for n in range(last + 1, last + len(values) + 1)]
    assert parsed[-1] == ("message", "[DONE]", str(3 * len(values)), None)
    assert len(parsed) == 3 * len(values) + 1


@pytest.mark.parametrize("newline", list(NEWLINES.values()), ids=list(NEWLINES))
def test_to_sse_refuses_an_event_name_with_a_line_break_when_built(newline: str) -> None:
    with pytest.raises(ValueError, match="SSE field 'event'"):
        to_sse(event=f"delta{newline}id: 1")


async def test_to_sse_refuses_an_item_whose_event_name_or_id_has_a_line_break() -> None:
    # Built from untrusted data at run time: refused at that item, never written.
    with pytest.raises(ValueError, match="SSE field 'id'"):
        await (sk.iterate([{"id": "1\nevent: evil"}]) | sk.map(event_with_id) | to_sse()).list()


def event_with_id(record: dict[str, str]) -> ServerSentEvent:
    return ServerSentEvent("x", id=record["id"])


def test_the_error_frame_carries_no_text_of_the_error() -> None:
    # An exception's message may hold user input (and internals): only its type is sent.
    frame = SSE_FRAMING.encode_error(ValueError("bad\n\nevent: evil\ndata: injected\n\n"))  # type: ignore[misc]
    assert decoded_everywhere(frame) == [("error", '{"error": "ValueError"}', "", None)]
