"""from_ollama, through the real ollama package (httpx underneath) and real /api/chat NDJSON bytes."""

from __future__ import annotations

from typing import Any

import httpx
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
    from_ollama,
    text,
)
from tests.llm.wire import (
    SDK_GENERATOR_WARNINGS,
    UNICODE_PIECES,
    MockServer,
    awkward,
    ndjson,
    ollama_client,
    ollama_parts,
)

ollama = pytest.importorskip("ollama")
pytestmark = SDK_GENERATOR_WARNINGS

MESSAGES = [{"role": "user", "content": "Say hello"}]


def ollama_server(parts: list[dict[str, Any]], *, line_end: bytes = b"\n", times: int = 1) -> MockServer:
    server = MockServer(httpx, "application/x-ndjson")
    server.script(awkward(ndjson(parts).replace(b"\n", line_end)), times=times)
    return server


@pytest.mark.parametrize("line_end", [b"\n", b"\r\n"], ids=["LF", "CRLF"])
@pytest.mark.parametrize("sync", [False, True], ids=["async", "sync"])
async def test_chat_stream(sync: bool, line_end: bytes) -> None:
    server = ollama_server(ollama_parts(), line_end=line_end)
    client = ollama_client(server, sync=sync)

    events = await from_ollama(client.chat(model="llama3.2", messages=MESSAGES, stream=True)).list()

    assert events == [*(TextDelta(piece) for piece in UNICODE_PIECES), Usage(26, 282, 308), Finish("stop", "stop")]
    assert server.request_json()["stream"] is True
    assert server.response.is_closed


async def test_tool_calls_come_whole() -> None:
    server = ollama_server(ollama_parts(["Let me check."], tool=True))
    client = ollama_client(server)

    events = await from_ollama(client.chat(model="llama3.2", messages=MESSAGES, stream=True)).list()

    assert events == [
        TextDelta("Let me check."),
        ToolCallDelta(0, None, "get_weather", '{"city": "Zürich"}'),
        ToolCall(0, None, "get_weather", '{"city": "Zürich"}'),
        Usage(26, 282, 308),
        Finish("tool_calls", "stop"),
    ]


async def test_thinking_and_generate_responses() -> None:
    base = {"model": "qwen3", "created_at": "2025-05-30T09:00:00Z"}
    parts = [
        dict(base, response="", thinking="Hmm… ", done=False),
        dict(base, response="Hi", done=False),
        dict(base, response="", done=True, done_reason="length", prompt_eval_count=5, eval_count=7),
    ]
    server = ollama_server(parts)
    client = ollama_client(server)

    events = await from_ollama(client.generate(model="qwen3", prompt="hi", stream=True, think=True)).list()
    assert events == [ReasoningDelta("Hmm… "), TextDelta("Hi"), Usage(5, 7, 12), Finish("length", "length")]


async def test_a_function_reruns_and_an_object_is_read_once() -> None:
    server = ollama_server(ollama_parts(), times=3)
    client = ollama_client(server)
    again = from_ollama(lambda: client.chat(model="llama3.2", messages=MESSAGES, stream=True))
    assert await (again | text()).list() == UNICODE_PIECES
    assert await (again | text()).list() == UNICODE_PIECES

    once = from_ollama(client.chat(model="llama3.2", messages=MESSAGES, stream=True))
    await once.list()
    with pytest.raises(sk.StreamReusedError):
        await once.list()


async def test_a_stream_cut_before_done_raises() -> None:
    server = ollama_server(ollama_parts()[:3])
    with pytest.raises(IncompleteStreamError, match="done: true"):
        await from_ollama(ollama_client(server).chat(model="llama3.2", messages=MESSAGES, stream=True)).list()
    assert server.response.is_closed


async def test_an_error_line_raises_the_ollama_error() -> None:
    server = ollama_server([*ollama_parts()[:2], {"error": "model runner has unexpectedly stopped (ü)"}])
    with pytest.raises(ollama.ResponseError, match="unexpectedly stopped"):
        await from_ollama(ollama_client(server).chat(model="llama3.2", messages=MESSAGES, stream=True)).list()
    assert server.response.is_closed


async def test_items_that_are_not_ollama_responses_are_refused() -> None:
    with pytest.raises(TypeError, match="not an Ollama chat or generate response"):
        await from_ollama([{"choices": []}]).list()
