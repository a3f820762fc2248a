"""ServerSentEvent validation and encoding, and the hot-path encoders."""

from __future__ import annotations

import copy
import dataclasses
import enum
import pickle

import pytest

from streamkit._framing import sse
from streamkit._framing.sse import (
    ServerSentEvent,
    SSEDecoder,
    data_encoder,
    encode_comment,
    encode_event,
    numbered_data_encoder,
)


@pytest.mark.parametrize("bad", ["a\nb", "a\rb", "a\r\nb", "\n", "end\r"])
def test_event_with_line_break_is_rejected(bad: str) -> None:
    with pytest.raises(ValueError, match="'event'"):
        ServerSentEvent("x", event=bad)


@pytest.mark.parametrize("bad", ["a\nb", "a\rb", "a\r\nb", "\r", "a\0b", "\0"])
def test_id_with_line_break_or_nul_is_rejected(bad: str) -> None:
    with pytest.raises(ValueError, match="'id'"):
        ServerSentEvent("x", id=bad)


def test_retry_must_be_a_non_negative_int() -> None:
    with pytest.raises(ValueError, match="'retry'"):
        ServerSentEvent("x", retry=-1)
    for bad in (True, False, 1.5, "100"):
        with pytest.raises(TypeError, match="'retry'"):
            ServerSentEvent("x", retry=bad)  # type: ignore[arg-type]
    assert ServerSentEvent("x", retry=0).encode() == b"retry: 0\ndata: x\n\n"


def test_retry_int_subclass_is_written_as_digits() -> None:
    class Delay(enum.IntEnum):
        SLOW = 5000

    assert ServerSentEvent("x", retry=Delay.SLOW).encode() == b"retry: 5000\ndata: x\n\n"


@pytest.mark.parametrize(
    ("field", "kwargs"),
    [
        ("data", {"data": None}),
        ("data", {"data": b"bytes"}),
        ("data", {"data": 1}),
        ("event", {"event": 1}),
        ("id", {"id": 7}),
        ("comment", {"comment": b"c"}),
    ],
)
def test_wrong_types_name_the_field(field: str, kwargs: dict[str, object]) -> None:
    with pytest.raises(TypeError, match=f"'{field}'"):
        ServerSentEvent(**kwargs)  # type: ignore[arg-type]


def test_bad_events_fail_at_construction_not_encode() -> None:
    with pytest.raises(ValueError, match="'event'"):
        encode_event("x", event="a\nb")
    with pytest.raises(ValueError, match="'id'"):
        encode_event("x", id="1\r")


def test_frozen_hashable_and_comparable() -> None:
    event = ServerSentEvent("x", event="e", id="1")
    with pytest.raises(dataclasses.FrozenInstanceError):
        event.data = "y"  # type: ignore[misc]
    assert event == ServerSentEvent("x", event="e", id="1")
    assert hash(event) == hash(ServerSentEvent("x", event="e", id="1"))
    assert not hasattr(event, "__dict__")


@pytest.mark.parametrize(
    ("event", "wire"),
    [
        (ServerSentEvent("hello"), b"data: hello\n\n"),
        (ServerSentEvent(""), b"data: \n\n"),
        (ServerSentEvent(), b"data: \n\n"),
        (ServerSentEvent("a\nb\r\nc\rd"), b"data: a\ndata: b\ndata: c\ndata: d\n\n"),
        (ServerSentEvent("a\n"), b"data: a\ndata: \n\n"),
        (ServerSentEvent("\r\n"), b"data: \ndata: \n\n"),
        (ServerSentEvent(" lead"), b"data:  lead\n\n"),
        (ServerSentEvent("x", event="e"), b"event: e\ndata: x\n\n"),
        (ServerSentEvent("x", event=""), b"event: \ndata: x\n\n"),
        (ServerSentEvent("x", id="1"), b"id: 1\ndata: x\n\n"),
        (ServerSentEvent("x", id=""), b"id: \ndata: x\n\n"),
        (ServerSentEvent("x", retry=10), b"retry: 10\ndata: x\n\n"),
        (
            ServerSentEvent("x", event="e", id="7", retry=3, comment="c"),
            b": c\nevent: e\nid: 7\nretry: 3\ndata: x\n\n",
        ),
        (ServerSentEvent(comment="ping"), b": ping\n"),
        (ServerSentEvent(comment=""), b": \n"),
        (ServerSentEvent(comment="a\r\nb\rc\nd"), b": a\n: b\n: c\n: d\n"),
        (ServerSentEvent("x", comment="a\nb"), b": a\n: b\ndata: x\n\n"),
        (ServerSentEvent("", id="1", comment="c"), b": c\nid: 1\ndata: \n\n"),
        (ServerSentEvent("caf\u00e9 \u2028 \U0001f642"), "data: caf\u00e9 \u2028 \U0001f642\n\n".encode()),
    ],
)
def test_encode(event: ServerSentEvent, wire: bytes) -> None:
    assert event.encode() == wire


def test_every_non_comment_event_parses_as_exactly_one_event() -> None:
    # Including data="" and retry-only / id-only events: a block without a
    # data line would be dropped by browsers but dispatched by other clients.
    built = [
        ServerSentEvent(),
        ServerSentEvent(id="1"),
        ServerSentEvent(retry=5),
        ServerSentEvent(event="only-name"),
        ServerSentEvent(comment="heartbeat"),
        ServerSentEvent("x"),
    ]
    decoder = SSEDecoder()
    parsed = decoder.feed(b"".join(e.encode() for e in built))
    assert [(e.event, e.data, e.id, e.retry) for e in parsed] == [
        ("message", "", "", None),
        ("message", "", "1", None),
        ("message", "", "1", 5),
        ("only-name", "", "1", 5),
        ("message", "x", "1", 5),
    ]


def test_encode_event_and_comment() -> None:
    assert encode_event("d", event="e", id="i", retry=1) == b"event: e\nid: i\nretry: 1\ndata: d\n\n"
    assert encode_comment() == b": \n"
    assert encode_comment("a\nb") == b": a\n: b\n"
    with pytest.raises(TypeError, match="'comment'"):
        encode_comment(None)  # type: ignore[arg-type]


def test_data_encoder() -> None:
    plain = data_encoder()
    assert plain("x") == b"data: x\n\n"
    assert plain("a\r\nb") == b"data: a\ndata: b\n\n"
    named = data_encoder("delta")
    assert named("x") == b"event: delta\ndata: x\n\n"
    with pytest.raises(ValueError, match="'event'"):
        data_encoder("a\nb")


def test_numbered_data_encoder() -> None:
    enc = numbered_data_encoder("e")
    assert enc("x", 1) == b"event: e\nid: 1\ndata: x\n\n"
    assert enc("a\nb", 22) == b"event: e\nid: 22\ndata: a\ndata: b\n\n"
    assert numbered_data_encoder()("x", 0) == b"id: 0\ndata: x\n\n"
    with pytest.raises(ValueError, match="'event'"):
        numbered_data_encoder("\r")


def test_encoders_agree_with_the_event_class() -> None:
    for data in ["", "x", "a\nb", "\r\r\n", " sp", "\u2028"]:
        assert data_encoder()(data) == ServerSentEvent(data).encode()
        assert data_encoder("e")(data) == ServerSentEvent(data, event="e").encode()
        assert numbered_data_encoder("e")(data, 3) == ServerSentEvent(data, event="e", id="3").encode()


def test_dataclass_machinery_still_works() -> None:
    event = ServerSentEvent("x", event="e", id="1", retry=2, comment="c")
    assert [f.name for f in dataclasses.fields(event)] == ["data", "event", "id", "retry", "comment"]
    assert pickle.loads(pickle.dumps(event)) == event
    assert copy.copy(event) == event and copy.deepcopy(event) == event
    assert dataclasses.replace(event, data="y") == ServerSentEvent("y", event="e", id="1", retry=2, comment="c")
    with pytest.raises(ValueError, match="'id'"):
        dataclasses.replace(event, id="\n")
    assert repr(ServerSentEvent("x")) == "ServerSentEvent(data='x', event=None, id=None, retry=None, comment=None)"
    match event:
        case ServerSentEvent(data, "e"):
            assert data == "x"
        case _:  # pragma: no cover
            raise AssertionError("no match")


def test_fields_after_data_are_keyword_only() -> None:
    with pytest.raises(TypeError):
        ServerSentEvent("x", "event")  # type: ignore[call-arg]


def test_cannot_be_subclassed() -> None:
    with pytest.raises(TypeError, match="subclassed"):

        class Mine(ServerSentEvent):  # type: ignore[misc]
            pass


def test_str_subclasses_are_accepted() -> None:
    class Kind(enum.StrEnum):
        DELTA = "delta"

    event = ServerSentEvent(Kind.DELTA, event=Kind.DELTA, id=Kind.DELTA)
    assert event.encode() == b"event: delta\nid: delta\ndata: delta\n\n"


def test_draft_has_the_event_slot_layout() -> None:
    # The decoder builds events as _Draft instances and retypes them; that is
    # only valid while the two slot layouts are identical.
    assert sse._Draft.__slots__ == ServerSentEvent.__slots__
    assert ServerSentEvent.__slots__ == tuple(f.name for f in dataclasses.fields(ServerSentEvent))
    event = sse._parsed("d", "message", "", None)
    assert type(event) is ServerSentEvent
    assert event == ServerSentEvent("d", event="message", id="")


HEARTBEAT_STREAM = [
    ServerSentEvent('{"a": 1}', id="1"),
    ServerSentEvent(comment="keep-alive"),
    ServerSentEvent("two\nlines", event="delta", id="2", retry=1000),
    ServerSentEvent(comment="keep-alive"),
    ServerSentEvent(comment="keep-alive"),
    ServerSentEvent("[DONE]"),
]
INTENDED = [("message", '{"a": 1}', "1"), ("delta", "two\nlines", "2"), ("message", "[DONE]", "2")]


@pytest.mark.parametrize("sdk", ["openai", "anthropic"])
def test_output_parses_in_the_official_sdk_decoders(sdk: str) -> None:
    # The SDKs dispatch an event at every blank line once an id was seen
    # (and then fail on the empty JSON), so heartbeats must add none.
    streaming = pytest.importorskip(f"{sdk}._streaming")
    wire = b"".join(e.encode() for e in HEARTBEAT_STREAM)
    chunks = [wire[i : i + 5] for i in range(0, len(wire), 5)]
    got = [(e.event or "message", e.data, e.id) for e in streaming.SSEDecoder().iter_bytes(iter(chunks))]
    assert got == INTENDED


def test_output_parses_in_httpx_sse() -> None:
    httpx_sse = pytest.importorskip("httpx_sse._decoders")
    text = b"".join(e.encode() for e in HEARTBEAT_STREAM).decode()
    lines = httpx_sse.SSELineDecoder()
    decoder = httpx_sse.SSEDecoder()
    got = []
    for line in lines.decode(text) + lines.flush():
        event = decoder.decode(line)
        if event is not None:
            got.append((event.event, event.data, event.id))
    assert got == INTENDED


def test_output_parses_in_our_decoder() -> None:
    wire = b"".join(e.encode() for e in HEARTBEAT_STREAM)
    assert [(e.event, e.data, e.id) for e in SSEDecoder().feed(wire)] == INTENDED
