"""from_openai over Responses API event streams, through the real openai SDK and real wire bytes."""

from __future__ import annotations

from typing import Any

import httpx2
import pytest

from streamkit.llm import Error, Finish, LLMError, TextDelta, ToolCall, ToolCallDelta, Usage, from_openai, text
from tests.llm.wire import (
    SDK_GENERATOR_WARNINGS,
    UNICODE_PIECES,
    MockServer,
    awkward,
    openai_client,
    responses_events,
    sse,
)

pytest.importorskip("openai")
pytestmark = SDK_GENERATOR_WARNINGS

CALL_ID = "call_zXK5vPzjXWhsCDUFWDHbDBUY"
EXPECTED = [
    *(TextDelta(piece) for piece in UNICODE_PIECES),
    ToolCallDelta(0, CALL_ID, "get_weather", ""),
    ToolCallDelta(0, CALL_ID, "get_weather", '{"loc'),
    ToolCallDelta(0, CALL_ID, "get_weather", 'ation": "Zü'),
    ToolCallDelta(0, CALL_ID, "get_weather", 'rich, Schweiz"}'),
    ToolCall(0, CALL_ID, "get_weather", '{"location": "Zürich, Schweiz"}'),
    Usage(37, 11, 48, 5),
    Finish("tool_calls", "completed"),
]


def responses_server(events: list[Any], *, line_end: str = "\n") -> MockServer:
    server = MockServer(httpx2, "text/event-stream; charset=utf-8")
    server.script(awkward(sse(events, line_end=line_end)))
    return server


def create(client: Any) -> Any:
    return client.responses.create(model="gpt-4.1", input="What is the weather in Zürich?", stream=True)


@pytest.mark.parametrize("line_end", ["\n", "\r\n"], ids=["LF", "CRLF"])
@pytest.mark.parametrize("sync", [False, True], ids=["async", "sync"])
async def test_responses_stream(sync: bool, line_end: str) -> None:
    server = responses_server(responses_events(), line_end=line_end)
    events = await from_openai(create(openai_client(server, sync=sync))).list()

    assert events == EXPECTED
    assert events[-3].json() == {"location": "Zürich, Schweiz"}  # type: ignore[union-attr]
    assert server.response.is_closed


@pytest.mark.parametrize("sync", [False, True], ids=["async", "sync"])
async def test_responses_stream_helper_manager(sync: bool) -> None:
    server = responses_server(responses_events())
    client = openai_client(server, sync=sync)
    manager = client.responses.stream(model="gpt-4.1", input="What is the weather in Zürich?")

    assert await from_openai(manager).list() == EXPECTED
    assert server.response.is_closed


async def test_an_error_event_becomes_an_error_and_text_raises() -> None:
    events = responses_events(with_tool=False)[:6]  # created ... two text deltas
    events.append(
        (
            "error",
            {
                "type": "error",
                "code": "server_error",
                "message": "The server had an error while processing your request.",
                "param": None,
                "sequence_number": 6,
            },
        )
    )
    server = responses_server(events)
    stream = from_openai(lambda: create(openai_client(server)))

    assert await stream.list() == [
        TextDelta("Hé"),
        TextDelta("llo"),
        Error("The server had an error while processing your request.", "server_error"),
        Finish("error", "error"),
    ]
    server.script(awkward(sse(events)))
    with pytest.raises(LLMError, match="The server had an error") as caught:
        await (stream | text()).list()
    assert caught.value.code == "server_error"


async def test_an_incomplete_response_finishes_for_length() -> None:
    events = responses_events(with_tool=False)
    _, completed = events[-1]
    response = dict(completed["response"], status="incomplete", incomplete_details={"reason": "max_output_tokens"})
    events[-1] = ("response.incomplete", dict(completed, type="response.incomplete", response=response))
    server = responses_server(events)

    result = await from_openai(create(openai_client(server))).list()
    assert result[-2:] == [Usage(37, 11, 48, 5), Finish("length", "max_output_tokens")]


async def test_a_failed_response_reports_its_error() -> None:
    events = responses_events(with_tool=False)
    _, completed = events[-1]
    error = {"code": "rate_limit_exceeded", "message": "Slow down…"}
    response = dict(completed["response"], status="failed", usage=None, error=error)
    events[-1] = ("response.failed", dict(completed, type="response.failed", response=response))
    server = responses_server(events)

    result = await from_openai(create(openai_client(server))).list()
    assert result[-2:] == [Error("Slow down…", "rate_limit_exceeded"), Finish("error", "failed")]


async def test_reasoning_summary_parts_are_separated() -> None:
    from streamkit.llm import ReasoningDelta

    def event(kind: str, **fields: Any) -> dict[str, Any]:
        return {"type": kind, "item_id": "rs_1", "output_index": 0, "sequence_number": 0, **fields}

    recorded = [
        event("response.reasoning_summary_part.added", summary_index=0, part={"type": "summary_text", "text": ""}),
        event("response.reasoning_summary_text.delta", summary_index=0, delta="**Plan**"),
        event("response.reasoning_summary_part.added", summary_index=1, part={"type": "summary_text", "text": ""}),
        event("response.reasoning_summary_text.delta", summary_index=1, delta="Look it up."),
        {"type": "response.completed", "sequence_number": 5, "response": {"status": "completed", "usage": None}},
    ]
    assert await from_openai(recorded).list() == [
        ReasoningDelta("**Plan**"),
        ReasoningDelta("\n\n"),
        ReasoningDelta("Look it up."),
        Finish("stop", "completed"),
    ]
