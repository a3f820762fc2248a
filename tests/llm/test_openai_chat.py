"""from_openai over Chat Completions streams, through the real openai SDK and real wire bytes."""

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
    from_openai,
    text,
    tool_calls,
)
from tests.llm.wire import (
    SDK_GENERATOR_WARNINGS,
    UNICODE_PIECES,
    MockServer,
    awkward,
    openai_chat_chunk,
    openai_chat_text,
    openai_chat_tools,
    openai_client,
    openai_usage_chunk,
    sse,
)

pytest.importorskip("openai")
pytestmark = SDK_GENERATOR_WARNINGS

MESSAGES = [{"role": "user", "content": "Say hello to the world"}]
TEXT_EVENTS = [TextDelta(piece) for piece in UNICODE_PIECES] + [Usage(19, 10, 29, 4), Finish("stop", "stop")]


def chat_server(events: list[Any], *, line_end: str = "\n", times: int = 1) -> MockServer:
    server = MockServer(httpx2, "text/event-stream; charset=utf-8")
    server.script(awkward(sse(events, line_end=line_end)), times=times)
    return server


def create(client: Any) -> Any:
    return client.chat.completions.create(
        model="gpt-4o-mini", messages=MESSAGES, stream=True, stream_options={"include_usage": True}
    )


@pytest.mark.parametrize("line_end", ["\n", "\r\n"], ids=["LF", "CRLF"])
async def test_async_stream_gives_text_usage_and_finish(line_end: str) -> None:
    server = chat_server(openai_chat_text(), line_end=line_end)
    stream = await create(openai_client(server))

    assert await from_openai(stream).list() == TEXT_EVENTS
    # awkward() cut the body inside characters (and CRLFs); the request asked for a stream.
    assert len(server.body.chunks) > 20
    assert server.request_json()["stream"] is True
    assert server.response.is_closed


@pytest.mark.parametrize("line_end", ["\n", "\r\n"], ids=["LF", "CRLF"])
async def test_sync_stream_is_read_in_a_thread(line_end: str) -> None:
    server = chat_server(openai_chat_text(), line_end=line_end)
    stream = create(openai_client(server, sync=True))

    assert await from_openai(stream).list() == TEXT_EVENTS
    assert server.response.is_closed


async def test_an_unawaited_call_is_awaited_by_the_run() -> None:
    server = chat_server(openai_chat_text())
    events = from_openai(create(openai_client(server)))
    assert not server.requests  # nothing is sent before the stream runs

    assert await (events | text()).list() == UNICODE_PIECES
    assert len(server.requests) == 1


async def test_a_function_makes_a_fresh_request_every_run() -> None:
    server = chat_server(openai_chat_text(), times=2)
    client = openai_client(server)
    events = from_openai(lambda: create(client))

    assert await events.list() == TEXT_EVENTS
    assert await events.list() == TEXT_EVENTS
    assert len(server.requests) == 2


@pytest.mark.parametrize("sync", [False, True], ids=["async", "sync"])
async def test_a_second_run_of_a_one_shot_stream_raises(sync: bool) -> None:
    server = chat_server(openai_chat_text())
    stream = create(openai_client(server, sync=sync))
    if not sync:
        stream = await stream
    events = from_openai(stream)
    assert await events.list() == TEXT_EVENTS

    with pytest.raises(sk.StreamReusedError, match="can be read only once"):
        await events.list()


async def test_a_second_run_of_an_unawaited_call_raises() -> None:
    events = from_openai(create(openai_client(chat_server(openai_chat_text()))))
    await events.list()
    with pytest.raises(sk.StreamReusedError):
        await events.list()


@pytest.mark.parametrize("sync", [False, True], ids=["async", "sync"])
async def test_parallel_tool_calls_are_reassembled(sync: bool) -> None:
    server = chat_server(openai_chat_tools())
    stream = create(openai_client(server, sync=sync))

    events = await from_openai(stream).list()

    weather, time_ = "call_DdmO9pD3xa9XTPNJ32zg2hcA", "call_4Xk0oRcVBJq1SIvwHcKpZz3Y"
    assert events == [
        ToolCallDelta(0, weather, "get_weather", ""),
        ToolCallDelta(0, weather, "get_weather", '{"lo'),
        ToolCallDelta(0, weather, "get_weather", 'cation": "Zür'),
        ToolCallDelta(0, weather, "get_weather", 'ich"}'),
        ToolCallDelta(1, time_, "get_time", ""),
        ToolCallDelta(1, time_, "get_time", '{"tz": "Europe/Zurich"}'),
        ToolCall(0, weather, "get_weather", '{"location": "Zürich"}'),
        ToolCall(1, time_, "get_time", '{"tz": "Europe/Zurich"}'),
        Usage(80, 41, 121, 0),
        Finish("tool_calls", "tool_calls"),
    ]
    calls = [event for event in events if isinstance(event, ToolCall)]
    assert [call.json() for call in calls] == [{"location": "Zürich"}, {"tz": "Europe/Zurich"}]


async def test_tool_calls_step_keeps_only_complete_calls() -> None:
    server = chat_server(openai_chat_tools())
    calls = await (from_openai(create(openai_client(server))) | tool_calls()).list()
    assert [(call.name, call.json()) for call in calls] == [
        ("get_weather", {"location": "Zürich"}),
        ("get_time", {"tz": "Europe/Zurich"}),
    ]


@pytest.mark.parametrize("sync", [False, True], ids=["async", "sync"])
async def test_the_stream_helper_manager(sync: bool) -> None:
    server = chat_server(openai_chat_text())
    client = openai_client(server, sync=sync)
    manager = client.chat.completions.stream(
        model="gpt-4o-mini", messages=MESSAGES, stream_options={"include_usage": True}
    )

    assert await from_openai(manager).list() == TEXT_EVENTS
    assert server.response.is_closed


async def test_an_entered_stream_helper() -> None:
    server = chat_server(openai_chat_tools())
    client = openai_client(server)
    async with client.chat.completions.stream(model="gpt-4o-mini", messages=MESSAGES) as helper:
        events = await from_openai(helper).list()
    assert [type(event).__name__ for event in events[-4:]] == ["ToolCall", "ToolCall", "Usage", "Finish"]


async def test_a_stream_cut_before_the_finish_reason_raises() -> None:
    cut = openai_chat_text()[:3]  # role chunk and two pieces; no finish, no [DONE]
    server = chat_server(cut)
    seen: list[Any] = []

    with pytest.raises(IncompleteStreamError, match="no finish reason"):
        async for event in from_openai(create(openai_client(server))):
            seen.append(event)
    assert seen == [TextDelta("Hé"), TextDelta("llo")]
    assert server.response.is_closed


async def test_more_than_one_choice_is_refused() -> None:
    second = openai_chat_chunk({"content": "other"})
    second["choices"][0]["index"] = 1
    server = chat_server([(None, openai_chat_chunk({"content": "ünë"})), (None, second), (None, "[DONE]")])

    with pytest.raises(ValueError, match="choice 1; request n=1"):
        await from_openai(create(openai_client(server))).list()
    assert server.response.is_closed


async def test_reasoning_content_and_refusal() -> None:
    # DeepSeek-style servers stream reasoning_content; a refusal streams in its own field.
    events = [
        (None, openai_chat_chunk({"role": "assistant", "content": None, "reasoning_content": "The user wants… "})),
        (None, openai_chat_chunk({"reasoning_content": "no."})),
        (None, openai_chat_chunk({"refusal": "I can’t help with that."})),
        (None, openai_chat_chunk({}, finish_reason="stop")),
        (None, "[DONE]"),
    ]
    server = chat_server(events)

    assert await from_openai(create(openai_client(server))).list() == [
        ReasoningDelta("The user wants… "),
        ReasoningDelta("no."),
        TextDelta("I can’t help with that."),
        Finish("stop", "stop"),
    ]


async def test_finish_reasons_are_normalised() -> None:
    server = chat_server(openai_chat_text(["Schluß"], finish_reason="length"))
    events = await from_openai(create(openai_client(server))).list()
    assert events[-1] == Finish("length", "length")


async def test_recorded_chunks_replay_without_a_request() -> None:
    chunks = [
        openai_chat_chunk({"content": "a"}),
        openai_chat_chunk({}, finish_reason="stop"),
        openai_usage_chunk(1, 1),
    ]
    events = from_openai(chunks)
    assert await events.list() == [TextDelta("a"), Usage(1, 1, 2, 0), Finish("stop", "stop")]
    assert await events.list() == [TextDelta("a"), Usage(1, 1, 2, 0), Finish("stop", "stop")]


def test_bad_sources_are_refused_when_the_stream_is_built() -> None:
    with pytest.raises(TypeError, match="from_openai\\(\\) takes a model's stream, not a str: 'hello'"):
        from_openai("hello")
    with pytest.raises(TypeError, match="a function returning one of these; got 3"):
        from_openai(3)


async def test_items_that_are_not_openai_events_are_refused() -> None:
    with pytest.raises(TypeError, match="neither a chat.completion.chunk nor a Responses API event"):
        await from_openai([{"type": "message_start"}, 1]).list()
