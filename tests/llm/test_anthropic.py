"""from_anthropic, through the real anthropic SDK and real Messages API wire bytes."""

from __future__ import annotations

from typing import Any

import httpx2
import pytest

import streamkit as sk
from streamkit.llm import (
    Finish,
    IncompleteStreamError,
    ReasoningDelta,
    TextDelta,
    ToolCall,
    ToolCallDelta,
    Usage,
    from_anthropic,
    text,
)
from tests.llm.wire import (
    SDK_GENERATOR_WARNINGS,
    UNICODE_PIECES,
    MockServer,
    anthropic_client,
    anthropic_events,
    awkward,
    sse,
)

anthropic = pytest.importorskip("anthropic")
pytestmark = SDK_GENERATOR_WARNINGS

MESSAGES = [{"role": "user", "content": "What's the weather in San Francisco?"}]
TOOL_ID = "toolu_01T1x1fJ34qAmk2tNTrN7Up6"
ARGUMENTS = '{"location": "San Francisco, CA", "unit": "°F"}'
EXPECTED = [
    *(TextDelta(piece) for piece in UNICODE_PIECES),
    ToolCallDelta(0, TOOL_ID, "get_weather", ""),
    ToolCallDelta(0, TOOL_ID, "get_weather", '{"location":'),
    ToolCallDelta(0, TOOL_ID, "get_weather", ' "San Fra'),
    ToolCallDelta(0, TOOL_ID, "get_weather", 'ncisco, CA", "unit": "°F"}'),
    ToolCall(0, TOOL_ID, "get_weather", ARGUMENTS),
    # input_tokens 472 + cache read 100; output_tokens from message_delta's running total
    Usage(572, 89, 661, 100),
    Finish("tool_calls", "tool_use"),
]


def anthropic_server(events: list[Any], *, line_end: str = "\n", times: int = 1) -> MockServer:
    server = MockServer(httpx2, "text/event-stream; charset=utf-8")
    server.script(awkward(sse(events, line_end=line_end)), times=times)
    return server


def create(client: Any) -> Any:
    return client.messages.create(model="claude-sonnet-4-6", max_tokens=1024, messages=MESSAGES, stream=True)


def manager(client: Any) -> Any:
    return client.messages.stream(model="claude-sonnet-4-6", max_tokens=1024, messages=MESSAGES)


@pytest.mark.parametrize("line_end", ["\n", "\r\n"], ids=["LF", "CRLF"])
@pytest.mark.parametrize("sync", [False, True], ids=["async", "sync"])
async def test_raw_message_stream(sync: bool, line_end: str) -> None:
    server = anthropic_server(anthropic_events(), line_end=line_end)
    events = await from_anthropic(create(anthropic_client(server, sync=sync))).list()

    assert events == EXPECTED
    assert events[-3].json() == {"location": "San Francisco, CA", "unit": "°F"}  # type: ignore[union-attr]
    assert server.request_json()["stream"] is True
    assert server.response.is_closed


@pytest.mark.parametrize("sync", [False, True], ids=["async", "sync"])
async def test_messages_stream_helper_manager(sync: bool) -> None:
    server = anthropic_server(anthropic_events())
    assert await from_anthropic(manager(anthropic_client(server, sync=sync))).list() == EXPECTED
    assert server.response.is_closed


async def test_an_entered_message_stream() -> None:
    server = anthropic_server(anthropic_events(with_tool=False))
    async with manager(anthropic_client(server)) as stream:
        pieces = await (from_anthropic(stream) | text()).list()
    assert pieces == UNICODE_PIECES


async def test_thinking_streams_as_reasoning() -> None:
    server = anthropic_server(anthropic_events(["Hi"], with_tool=False, thinking=["Let me think…", " Done."]))
    events = await from_anthropic(create(anthropic_client(server))).list()
    assert events == [
        ReasoningDelta("Let me think…"),
        ReasoningDelta(" Done."),
        TextDelta("Hi"),
        Usage(572, 89, 661, 100),
        Finish("stop", "end_turn"),
    ]


async def test_a_function_reruns_and_an_object_is_read_once() -> None:
    server = anthropic_server(anthropic_events(with_tool=False), times=3)
    client = anthropic_client(server)
    again = from_anthropic(lambda: manager(client))
    assert await (again | text()).list() == UNICODE_PIECES
    assert await (again | text()).list() == UNICODE_PIECES

    once = from_anthropic(manager(client))
    await once.list()
    with pytest.raises(sk.StreamReusedError):
        await once.list()
    assert len(server.requests) == 3


async def test_an_error_event_raises_the_sdk_error() -> None:
    events = anthropic_events(with_tool=False)[:4]
    events.append(("error", {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}))
    server = anthropic_server(events)
    seen: list[Any] = []

    with pytest.raises(anthropic.APIStatusError, match="Overloaded"):
        async for event in from_anthropic(create(anthropic_client(server))):
            seen.append(event)
    assert seen == [TextDelta("Hé")]
    assert server.response.is_closed


async def test_a_stream_cut_before_message_stop_raises() -> None:
    server = anthropic_server(anthropic_events(with_tool=False)[:5])
    with pytest.raises(IncompleteStreamError, match="no message_stop"):
        await from_anthropic(create(anthropic_client(server))).list()
    assert server.response.is_closed


async def test_a_tool_use_block_without_input_deltas_uses_its_start_input() -> None:
    recorded = [
        {"type": "message_start", "message": {"usage": {"input_tokens": 3, "output_tokens": 1}}},
        {
            "type": "content_block_start",
            "index": 0,
            "content_block": {"type": "tool_use", "id": "toolu_1", "name": "now", "input": {"tz": "UTC"}},
        },
        {"type": "content_block_stop", "index": 0},
        {"type": "message_delta", "delta": {"stop_reason": "tool_use"}, "usage": {"output_tokens": 9}},
        {"type": "message_stop"},
    ]
    assert await from_anthropic(recorded).list() == [
        ToolCallDelta(0, "toolu_1", "now", ""),
        ToolCall(0, "toolu_1", "now", '{"tz": "UTC"}'),
        Usage(3, 9, 12, 0),
        Finish("tool_calls", "tool_use"),
    ]


async def test_items_that_are_not_message_events_are_refused() -> None:
    with pytest.raises(TypeError, match="not a Messages stream event"):
        await from_anthropic([object()]).list()
