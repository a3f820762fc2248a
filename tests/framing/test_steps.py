"""The framing pipe steps, and their output as the clients people use read it."""

from __future__ import annotations

import json

import anyio
import pytest

import streamkit as sk
from streamkit.broker import Message
from streamkit.testing import record


async def test_to_sse_frames_each_kind_of_item() -> None:
    items = ["hi", {"n": 1}, b"data: raw\n\n", sk.ServerSentEvent("x", event="delta"), Message("5-0", {"t": "a"}), Message("6-0", "plain")]
    frames = await (sk.iterate(items) | sk.to_sse()).list()
    assert frames == [
        b"data: hi\n\n",
        b'data: {"n": 1}\n\n',
        b"data: raw\n\n",
        b"event: delta\ndata: x\n\n",
        b'id: 5-0\ndata: {"t": "a"}\n\n',
        b"id: 6-0\ndata: plain\n\n",
    ]


async def test_automatic_ids_number_real_events_only_and_restart_every_run() -> None:
    beat = sk.ServerSentEvent(comment="ping")
    stream = sk.iterate(["a", beat, "b", sk.ServerSentEvent("c", id="custom")]) | sk.to_sse(ids=True, retry=500, event="tok")
    first = await stream.list()
    assert first == [
        b"event: tok\nid: 1\nretry: 500\ndata: a\n\n",
        b": ping\n",
        b"event: tok\nid: 2\ndata: b\n\n",
        b"event: tok\nid: custom\ndata: c\n\n",
    ]
    assert await stream.list() == first


async def test_done_event_and_the_framing_mark() -> None:
    stream = sk.iterate(["a"]) | sk.to_sse(done="[DONE]")
    assert await stream.list() == [b"data: a\n\n", b"data: [DONE]\n\n"]
    assert stream.framing is not None
    assert stream.framing.media_type == "text/event-stream; charset=utf-8"
    assert stream.framing.keepalive == b":\n"


def test_bad_options_fail_at_construction() -> None:
    with pytest.raises(ValueError, match="event"):
        sk.to_sse(event="a\nb")
    with pytest.raises(ValueError, match="retry"):
        sk.to_sse(retry=-1)
    with pytest.raises(TypeError, match="dumps"):
        sk.to_sse(dumps="json")  # type: ignore[arg-type]


async def test_sse_round_trip_through_parse_sse_split_anywhere() -> None:
    events = [sk.ServerSentEvent("a\r\nb", event="x"), sk.ServerSentEvent("é", id="7"), "[DONE]", "never seen"]
    framed = b"".join(await (sk.iterate(events) | sk.to_sse()).list())
    chunks = [framed[i : i + 3] for i in range(0, len(framed), 3)]
    parsed = await (sk.iterate(chunks) | sk.parse_sse(until="[DONE]")).list()
    assert [(e.event, e.data, e.id) for e in parsed] == [("x", "a\nb", ""), ("message", "é", "7")]


async def test_parse_sse_json() -> None:
    stream = sk.iterate([b'data: {"a": 1}\n\ndata: [DONE]\n\n']) | sk.parse_sse(until="[DONE]", json=True)
    assert await stream.list() == [{"a": 1}]


async def test_ndjson_round_trip_and_line_numbers() -> None:
    values = [{"a": 1}, [1, 2], "s", None]
    framed = await (sk.iterate(values) | sk.to_ndjson()).list()
    assert framed == [b'{"a": 1}\n', b"[1, 2]\n", b'"s"\n', b"null\n"]
    joined = b"".join(framed)
    assert await (sk.iterate([joined[:5], joined[5:]]) | sk.parse_ndjson()).list() == values
    with pytest.raises(sk.NDJSONError) as caught:
        await (sk.iterate([b'{"ok": 1}\n\n{broken\n']) | sk.parse_ndjson()).list()
    assert caught.value.line_number == 3
    assert await (sk.iterate([b'1\n{broken\n2\n']) | sk.parse_ndjson(on_error="skip")).list() == [1, 2]


async def test_lines_decode_encode() -> None:
    assert await (sk.iterate(["a\nb", "c\r", "\nd\re"]) | sk.lines()).list() == ["a", "bc", "d", "e"]
    assert await (sk.iterate([b"\xc3", b"\xa9t\xc3", b"\xa9"]) | sk.decode()).list() == ["ét", "é"]
    encoded = sk.iterate(["é"]) | sk.encode()
    assert await encoded.list() == [b"\xc3\xa9"]
    assert encoded.framing is not None and encoded.framing.media_type == "text/plain; charset=utf-8"


async def test_sse_with_ids_and_heartbeats_reads_right_in_the_official_sdk_decoders() -> None:
    """openai's and anthropic's SDK decoders, and httpx-sse, see exactly the intended events."""
    source = sk.push(_llm_like)
    framed = b"".join(await (source | sk.heartbeat(1.0, sk.ServerSentEvent(comment="ping")) | sk.to_sse(ids=True, retry=1000)).list())
    assert b": ping\n" in framed
    expected = [("message", json.dumps({"t": n})) for n in range(3)]

    from openai._streaming import SSEDecoder as OpenAIDecoder

    openai_events = [(e.event or "message", e.data) for e in OpenAIDecoder().iter_bytes(iter([framed]))]
    assert openai_events == expected

    from anthropic._streaming import SSEDecoder as AnthropicDecoder

    anthropic_events = [(e.event or "message", e.data) for e in AnthropicDecoder().iter_bytes(iter([framed]))]
    assert anthropic_events == expected

    from httpx_sse._decoders import SSEDecoder as HttpxSSEDecoder

    decoder = HttpxSSEDecoder()
    httpx_events = []
    for line in framed.decode().splitlines():
        event = decoder.decode(line)
        if event is not None:
            httpx_events.append((event.event, event.data))
    assert httpx_events == expected


async def _llm_like(channel: sk.Channel[dict[str, int]]) -> None:
    for n in range(3):
        await channel.send({"t": n})
        await anyio.sleep(2.5)  # long enough for two heartbeats between tokens


async def test_heartbeats_fall_between_events_on_the_virtual_clock() -> None:
    timeline = await record(sk.push(_llm_like) | sk.heartbeat(1.0, sk.ServerSentEvent(comment="ping")) | sk.to_sse(ids=True))
    assert [(t, frame) for t, frame in timeline][:4] == [
        (0.0, b'id: 1\ndata: {"t": 0}\n\n'),
        (1.0, b": ping\n"),
        (2.0, b": ping\n"),
        (2.5, b'id: 2\ndata: {"t": 1}\n\n'),
    ]
