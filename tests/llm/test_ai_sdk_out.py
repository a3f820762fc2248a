"""ai_sdk_sse(): the Vercel AI SDK UI message stream, parsed back part by part."""

from __future__ import annotations

import json
from typing import Any

import pytest

import streamkit as sk
from streamkit.llm import Error, Finish, ReasoningDelta, TextDelta, Usage, ai_sdk_sse, from_openai
from tests import httpclient
from tests.llm.wire import SDK_GENERATOR_WARNINGS, MockServer, openai_chat_tools, openai_client, per_event, sse
from tests.servers import uvicorn_server

pytestmark = SDK_GENERATOR_WARNINGS


def parts(body: bytes) -> list[Any]:
    events = sk.SSEDecoder().feed(body)
    assert events[-1].data == "[DONE]"
    return [json.loads(event.data) for event in events[:-1]]


async def test_text_reasoning_and_usage_metadata_part_by_part() -> None:
    source = sk.iterate([ReasoningDelta("think"), TextDelta("Hé"), "llo", Usage(3, 2, 5), Finish("length")])
    step = ai_sdk_sse(message_id="msg-1", finish_reason=True, metadata=lambda usage, finish: {"totalTokens": usage.total_tokens if usage else 0})
    assert parts(b"".join(await (source | step).list())) == [
        {"type": "start", "messageId": "msg-1"},
        {"type": "start-step"},
        {"type": "reasoning-start", "id": "reasoning-1"},
        {"type": "reasoning-delta", "id": "reasoning-1", "delta": "think"},
        {"type": "reasoning-end", "id": "reasoning-1"},
        {"type": "text-start", "id": "text-2"},
        {"type": "text-delta", "id": "text-2", "delta": "Hé"},
        {"type": "text-delta", "id": "text-2", "delta": "llo"},
        {"type": "text-end", "id": "text-2"},
        {"type": "finish-step"},
        {"type": "finish", "finishReason": "length", "messageMetadata": {"totalTokens": 5}},
    ]


async def test_tool_calls_from_the_real_openai_sdk() -> None:
    upstream = MockServer(pytest.importorskip("httpx2"), "text/event-stream")
    upstream.script(per_event(sse(openai_chat_tools())))
    call = openai_client(upstream).chat.completions.create(model="m", messages=[], stream=True)
    got = parts(b"".join(await (from_openai(call) | ai_sdk_sse(message_id="m1")).list()))
    first = "call_DdmO9pD3xa9XTPNJ32zg2hcA"
    second = "call_4Xk0oRcVBJq1SIvwHcKpZz3Y"
    assert got == [
        {"type": "start", "messageId": "m1"},
        {"type": "start-step"},
        {"type": "tool-input-start", "toolCallId": first, "toolName": "get_weather"},
        {"type": "tool-input-delta", "toolCallId": first, "inputTextDelta": '{"lo'},
        {"type": "tool-input-delta", "toolCallId": first, "inputTextDelta": 'cation": "Zür'},
        {"type": "tool-input-delta", "toolCallId": first, "inputTextDelta": 'ich"}'},
        {"type": "tool-input-start", "toolCallId": second, "toolName": "get_time"},
        {"type": "tool-input-delta", "toolCallId": second, "inputTextDelta": '{"tz": "Europe/Zurich"}'},
        # the adapter completes the calls once the model has finished them all
        {"type": "tool-input-available", "toolCallId": first, "toolName": "get_weather", "input": {"location": "Zürich"}},
        {"type": "tool-input-available", "toolCallId": second, "toolName": "get_time", "input": {"tz": "Europe/Zurich"}},
        {"type": "finish-step"},
        {"type": "finish"},
    ]


async def test_an_error_event_becomes_an_error_part() -> None:
    got = parts(b"".join(await (sk.iterate(["a", Error("overloaded")]) | ai_sdk_sse(message_id="x")).list()))
    assert got[2:6] == [
        {"type": "text-start", "id": "text-1"},
        {"type": "text-delta", "id": "text-1", "delta": "a"},
        {"type": "text-end", "id": "text-1"},
        {"type": "error", "errorText": "overloaded"},
    ]


async def test_served_with_the_protocol_header_and_fresh_message_ids() -> None:
    with uvicorn_server(sk.asgi(sk.iterate(["hi"]) | ai_sdk_sse())) as url:
        bodies = []
        for _ in range(2):
            async with httpclient.stream("POST", url + "/api/chat", body=b"{}") as response:
                bodies.append(await response.read_all())
                assert response.headers["x-vercel-ai-ui-message-stream"] == "v1"
                assert response.headers["content-type"] == "text/event-stream; charset=utf-8"
    ids = [parts(body)[0]["messageId"] for body in bodies]
    assert ids[0] != ids[1]
    assert [part["type"] for part in parts(bodies[0])] == [
        "start", "start-step", "text-start", "text-delta", "text-end", "finish-step", "finish"
    ]


def test_bad_arguments_are_named() -> None:
    with pytest.raises(TypeError, match="metadata"):
        ai_sdk_sse(metadata=42)  # type: ignore[arg-type]
