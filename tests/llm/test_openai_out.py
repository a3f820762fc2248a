"""openai_sse(): what the official openai SDK reads from a streamkit endpoint.

Over real HTTP (uvicorn on 127.0.0.1, heartbeats and ids on), and offline (the SDK's mock
transport answering with openai_sse's bytes). Cancellation: a client that disconnects closes
the upstream SDK stream's HTTP response.
"""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator
from typing import Any

import anyio
import pytest

import streamkit as sk
from streamkit.llm import Error, Finish, ReasoningDelta, TextDelta, ToolCall, ToolCallDelta, Usage, from_openai, openai_sse
from tests import httpclient
from tests.llm.wire import (
    SDK_GENERATOR_WARNINGS,
    UNICODE_PIECES,
    UNICODE_TEXT,
    MockServer,
    openai_chat_text,
    openai_chat_tools,
    openai_client,
    per_event,
    sse,
)
from tests.servers import uvicorn_server

openai = pytest.importorskip("openai")
httpx2 = pytest.importorskip("httpx2")
pytestmark = SDK_GENERATOR_WARNINGS

CHAT: dict[str, Any] = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]}


def slow_answer() -> sk.Stream[Any]:
    """Tokens with pauses longer than the heartbeat period, then usage and finish."""

    async def events() -> AsyncIterator[Any]:
        for i, piece in enumerate(UNICODE_PIECES):
            if i in (1, 4):
                await anyio.sleep(0.15)  # three heartbeats' worth of silence
            yield TextDelta(piece)
        yield Usage(input_tokens=19, output_tokens=10, total_tokens=29, cached_input_tokens=4)
        yield Finish("length", raw="max_tokens")

    return sk.Stream(events)


async def test_the_openai_sdk_reads_a_streamkit_endpoint_over_http_with_heartbeats_and_ids() -> None:
    app = sk.asgi(slow_answer() | openai_sse(model="streamkit-test", id="chatcmpl-42", created=1700000000, ids=True), heartbeat=0.05)
    with uvicorn_server(app) as url:
        # The raw bytes first: heartbeats were really sent, and every event has an id.
        async with httpclient.stream("POST", url + "/v1/chat/completions", body=b"{}") as response:
            raw = (await response.read_all()).decode()
        assert response.headers["content-type"] == "text/event-stream; charset=utf-8"
        assert ":\n" in raw.replace("data: ", ""), "no heartbeat was sent during the pauses"
        assert "id: 1\n" in raw and raw.endswith("data: [DONE]\n\n")

        async with openai.AsyncOpenAI(base_url=url + "/v1", api_key="x", max_retries=0) as client:
            stream = await client.chat.completions.create(stream=True, stream_options={"include_usage": True}, **CHAT)
            chunks = [chunk async for chunk in stream]
    assert all(chunk.id == "chatcmpl-42" and chunk.model == "streamkit-test" for chunk in chunks)
    assert chunks[0].choices[0].delta.role == "assistant"
    text = "".join(chunk.choices[0].delta.content or "" for chunk in chunks if chunk.choices)
    assert text == UNICODE_TEXT
    reasons = [chunk.choices[0].finish_reason for chunk in chunks if chunk.choices and chunk.choices[0].finish_reason]
    assert reasons == ["length"]
    assert chunks[-1].choices == []
    usage = chunks[-1].usage
    assert (usage.prompt_tokens, usage.completion_tokens, usage.total_tokens) == (19, 10, 29)
    assert usage.prompt_tokens_details.cached_tokens == 4


async def test_openai_wire_in_openai_wire_out_through_the_sdk_helper_with_tool_calls() -> None:
    upstream = MockServer(httpx2, "text/event-stream")
    upstream.script(per_event(sse(openai_chat_tools())))
    reframed = await (from_openai(openai_client(upstream).chat.completions.create(stream=True, **CHAT)) | openai_sse(model="m")).list()

    # The reframed bytes, served to a second SDK client that uses the .stream() helper.
    downstream = MockServer(httpx2, "text/event-stream")
    downstream.script(reframed)
    async with openai_client(downstream).chat.completions.stream(**CHAT) as stream:
        async for _ in stream:
            pass
        final = await stream.get_final_completion()
    message = final.choices[0].message
    assert final.choices[0].finish_reason == "tool_calls"
    calls = [(call.id, call.function.name, json.loads(call.function.arguments)) for call in message.tool_calls]
    assert calls == [
        ("call_DdmO9pD3xa9XTPNJ32zg2hcA", "get_weather", {"location": "Zürich"}),
        ("call_4Xk0oRcVBJq1SIvwHcKpZz3Y", "get_time", {"tz": "Europe/Zurich"}),
    ]
    assert final.usage is not None and final.usage.total_tokens == 121


async def test_chunks_in_order_for_strings_reasoning_and_a_whole_tool_call() -> None:
    source = sk.iterate(["He", "", ReasoningDelta("hmm"), "llo", ToolCall(0, "c1", "f", '{"a": 1}')])
    body = b"".join(await (source | openai_sse(model="m", id="x", created=1, include_usage=True)).list())
    events = [event.data for event in sk.SSEDecoder().feed(body)]
    assert events[-1] == "[DONE]"
    chunks = [json.loads(data) for data in events[:-1]]
    assert all(chunk["id"] == "x" and chunk["created"] == 1 and chunk["object"] == "chat.completion.chunk" for chunk in chunks)
    deltas = [(chunk["choices"][0]["delta"], chunk["choices"][0]["finish_reason"]) for chunk in chunks]
    assert deltas == [
        ({"role": "assistant", "content": ""}, None),
        ({"content": "He"}, None),
        ({"reasoning_content": "hmm"}, None),
        ({"content": "llo"}, None),
        ({"tool_calls": [{"index": 0, "id": "c1", "type": "function", "function": {"name": "f", "arguments": '{"a": 1}'}}]}, None),
        ({}, "stop"),  # the source ended without a Finish; no Usage, so no usage chunk
    ]


async def test_fragments_announce_a_tool_once_and_the_complete_call_adds_nothing() -> None:
    source = sk.iterate([ToolCallDelta(0, "c1", "f", ""), ToolCallDelta(0, "c1", "f", '{"a"'), ToolCallDelta(0, "c1", "f", ": 1}"),
                         ToolCall(0, "c1", "f", '{"a": 1}'), Finish("tool_calls")])
    body = b"".join(await (source | openai_sse(model="m")).list())
    chunks = [json.loads(event.data) for event in sk.SSEDecoder().feed(body)[:-1]]
    calls = [chunk["choices"][0]["delta"].get("tool_calls") for chunk in chunks]
    assert calls[1:4] == [
        [{"index": 0, "id": "c1", "type": "function", "function": {"name": "f", "arguments": ""}}],
        [{"index": 0, "function": {"arguments": '{"a"'}}],
        [{"index": 0, "function": {"arguments": ": 1}"}}],
    ]
    assert chunks[-1]["choices"][0]["finish_reason"] == "tool_calls"


async def test_an_error_event_makes_the_sdk_raise_api_error() -> None:
    body = await (sk.iterate([TextDelta("Hi"), Error("overloaded", "overloaded_error")]) | openai_sse(model="m")).list()
    server = MockServer(httpx2, "text/event-stream")
    server.script(body)
    stream = await openai_client(server).chat.completions.create(stream=True, **CHAT)
    seen = []
    with pytest.raises(openai.APIError, match="overloaded"):
        async for chunk in stream:
            seen.append(chunk.choices[0].delta.content)
    assert seen == ["", "Hi"]


def test_bad_arguments_are_named() -> None:
    with pytest.raises(TypeError, match="model"):
        openai_sse(model="")
    with pytest.raises(TypeError, match="created"):
        openai_sse(model="m", created="now")  # type: ignore[arg-type]


async def test_a_non_event_is_named() -> None:
    with pytest.raises(TypeError, match=r"openai_sse\(\) takes LLM events or str deltas, got 1"):
        await (sk.iterate([1]) | openai_sse(model="m")).list()


async def test_the_stream_is_marked_sse_so_asgi_needs_no_media_type() -> None:
    stream = sk.iterate(["a"]) | openai_sse(model="m")
    assert stream.framing is not None and stream.framing.media_type.startswith("text/event-stream")
    assert stream.framing.encode_error is not None
    frame = stream.framing.encode_error(RuntimeError("secret"))
    assert json.loads(sk.SSEDecoder().feed(frame)[0].data) == {
        "error": {"message": "the stream failed: RuntimeError", "type": "server_error", "code": None}
    }


async def test_a_client_that_disconnects_closes_the_upstream_sdk_response() -> None:
    upstream = MockServer(httpx2, "text/event-stream")
    # One chunk per event: the role chunk, then tokens; the model stalls after the third token.
    upstream.script(per_event(sse(openai_chat_text())), stall_after=4)

    def answer(request: sk.Request) -> sk.Stream[bytes]:
        call = openai_client(upstream).chat.completions.create(stream=True, stream_options={"include_usage": True}, **CHAT)
        return from_openai(call) | openai_sse(model="proxy")

    with uvicorn_server(sk.asgi(answer, heartbeat=0.05)) as url:
        async with httpclient.stream("POST", url + "/v1/chat/completions", body=b"{}") as response:
            seen = await response.read_until(b'"content": "', count=4)  # the role chunk and three tokens
        disconnected = time.monotonic()
        with anyio.fail_after(5):
            while not upstream.responses or not upstream.response.is_closed:
                await anyio.sleep(0.002)
        latency = time.monotonic() - disconnected
    print(f"client disconnect -> upstream SDK response closed: {latency * 1000:.1f} ms")
    assert latency < 5
    assert "".join(UNICODE_PIECES[:3]) in "".join(
        json.loads(event.data)["choices"][0]["delta"].get("content") or "" for event in sk.SSEDecoder().feed(seen)
    )
    assert upstream.body.closed and upstream.body.pulled == 4 and upstream.body.pulled_after_close == 0
