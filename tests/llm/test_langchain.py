"""from_langchain, through the real langchain_core chat model machinery (a fake model, real library).

LangChain's async API runs on asyncio only (its callback managers need a running asyncio
loop), so ``astream`` tests run there; the sync ``stream`` is read in a worker thread and runs
on both backends.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Iterator
from typing import Any

import anyio
import pytest

import streamkit as sk
from streamkit.llm import (
    Finish,
    ReasoningDelta,
    TextDelta,
    ToolCall,
    ToolCallDelta,
    Usage,
    from_langchain,
    text,
)

pytest.importorskip("langchain_core")

from langchain_core.language_models import BaseChatModel  # noqa: E402
from langchain_core.language_models.fake_chat_models import GenericFakeChatModel  # noqa: E402
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage  # noqa: E402
from langchain_core.output_parsers import StrOutputParser  # noqa: E402
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult  # noqa: E402

asyncio_only = pytest.mark.parametrize("anyio_backend", ["asyncio"])


class ScriptedChatModel(BaseChatModel):
    """Streams the given chunks; can stall after some of them; records when its stream was closed."""

    chunks: list[AIMessageChunk]
    stall_after: int | None = None
    produced: int = 0
    closed: bool = False

    @property
    def _llm_type(self) -> str:
        return "scripted"

    def _generate(
        self, messages: list[BaseMessage], stop: Any = None, run_manager: Any = None, **kw: Any
    ) -> ChatResult:
        return ChatResult(generations=[ChatGeneration(message=AIMessage(content="unused"))])

    def _stream(
        self, messages: list[BaseMessage], stop: Any = None, run_manager: Any = None, **kw: Any
    ) -> Iterator[ChatGenerationChunk]:
        for chunk in self.chunks:
            self.produced += 1
            yield ChatGenerationChunk(message=chunk)

    async def _astream(
        self, messages: list[BaseMessage], stop: Any = None, run_manager: Any = None, **kw: Any
    ) -> AsyncIterator[ChatGenerationChunk]:
        try:
            for i, chunk in enumerate(self.chunks):
                if i == self.stall_after:
                    await anyio.sleep_forever()
                self.produced += 1
                yield ChatGenerationChunk(message=chunk)
        finally:
            self.closed = True


def openai_style_chunks() -> list[AIMessageChunk]:
    """What langchain-openai yields for text, then one tool call, then the usage chunk."""
    return [
        AIMessageChunk(content="Hé"),
        AIMessageChunk(content="llo"),
        AIMessageChunk(
            content="", tool_call_chunks=[{"name": "get_weather", "args": "", "id": "call_1", "index": 0}]
        ),
        AIMessageChunk(content="", tool_call_chunks=[{"name": None, "args": '{"city": "Zü', "id": None, "index": 0}]),
        AIMessageChunk(content="", tool_call_chunks=[{"name": None, "args": 'rich"}', "id": None, "index": 0}]),
        AIMessageChunk(content="", response_metadata={"finish_reason": "tool_calls", "model_name": "gpt-4o-mini"}),
        AIMessageChunk(
            content="",
            usage_metadata={
                "input_tokens": 20,
                "output_tokens": 9,
                "total_tokens": 29,
                "input_token_details": {"cache_read": 4},
            },
        ),
    ]


OPENAI_STYLE_EVENTS = [
    TextDelta("Hé"),
    TextDelta("llo"),
    ToolCallDelta(0, "call_1", "get_weather", ""),
    ToolCallDelta(0, "call_1", "get_weather", '{"city": "Zü'),
    ToolCallDelta(0, "call_1", "get_weather", 'rich"}'),
    ToolCall(0, "call_1", "get_weather", '{"city": "Zürich"}'),
    Usage(20, 9, 29, 4),
    Finish("tool_calls", "tool_calls"),
]


@asyncio_only
async def test_fake_chat_model_text() -> None:
    model = GenericFakeChatModel(messages=iter(["hello wörld"]))
    events = await from_langchain(model.astream("hi")).list()
    assert events == [TextDelta("hello"), TextDelta(" "), TextDelta("wörld"), Finish("stop", None)]


@asyncio_only
async def test_tool_call_chunks_usage_and_finish_reason() -> None:
    model = ScriptedChatModel(chunks=openai_style_chunks())
    assert await from_langchain(model.astream("weather?")).list() == OPENAI_STYLE_EVENTS


async def test_sync_stream_is_read_in_a_thread() -> None:
    model = ScriptedChatModel(chunks=openai_style_chunks())
    assert await from_langchain(model.stream("weather?")).list() == OPENAI_STYLE_EVENTS


@asyncio_only
async def test_anthropic_style_content_blocks() -> None:
    # langchain-anthropic: content is a list of blocks; usage comes split across chunks.
    chunks = [
        AIMessageChunk(content="", usage_metadata={"input_tokens": 472, "output_tokens": 0, "total_tokens": 472}),
        AIMessageChunk(content=[{"type": "thinking", "thinking": "Weather tool.", "index": 0}]),
        AIMessageChunk(content=[{"type": "text", "text": "Checking…", "index": 1}]),
        AIMessageChunk(
            content=[{"type": "tool_use", "id": "toolu_1", "name": "get_weather", "input": {}, "index": 2}],
            tool_call_chunks=[{"name": "get_weather", "args": "", "id": "toolu_1", "index": 2}],
        ),
        AIMessageChunk(
            content=[{"type": "input_json_delta", "partial_json": '{"city": "Oslo"}', "index": 2}],
            tool_call_chunks=[{"name": None, "args": '{"city": "Oslo"}', "id": None, "index": 2}],
        ),
        AIMessageChunk(
            content="",
            response_metadata={"stop_reason": "tool_use"},
            usage_metadata={"input_tokens": 0, "output_tokens": 61, "total_tokens": 61},
        ),
    ]
    model = ScriptedChatModel(chunks=chunks)
    assert await from_langchain(model.astream("weather?")).list() == [
        ReasoningDelta("Weather tool."),
        TextDelta("Checking…"),
        ToolCallDelta(0, "toolu_1", "get_weather", ""),
        ToolCallDelta(0, "toolu_1", "get_weather", '{"city": "Oslo"}'),
        ToolCall(0, "toolu_1", "get_weather", '{"city": "Oslo"}'),
        Usage(472, 61, 533, 0),
        Finish("tool_calls", "tool_use"),
    ]


@asyncio_only
async def test_a_chain_ending_in_a_string_parser() -> None:
    chain = GenericFakeChatModel(messages=iter(["one two"])) | StrOutputParser()
    assert await (from_langchain(chain.astream("hi")) | text()).list() == ["one", " ", "two"]


@asyncio_only
async def test_a_function_reruns_and_an_object_is_read_once() -> None:
    model = ScriptedChatModel(chunks=[AIMessageChunk(content="again")])
    again = from_langchain(lambda: model.astream("hi"))
    assert await (again | text()).list() == ["again"]
    assert await (again | text()).list() == ["again"]

    once = from_langchain(model.astream("hi"))
    await once.list()
    with pytest.raises(sk.StreamReusedError):
        await once.list()


@asyncio_only
async def test_closing_the_run_closes_the_model_stream() -> None:
    model = ScriptedChatModel(chunks=[AIMessageChunk(content=c) for c in "abcdef"], stall_after=3)
    got: list[Any] = []
    async with from_langchain(model.astream("hi")).open() as run:

        async def consume() -> None:
            async for event in run:
                got.append(event)

        async with anyio.create_task_group() as group:
            group.start_soon(consume)
            with anyio.fail_after(5):
                while len(got) < 3:
                    await anyio.sleep(0.005)
            started = time.monotonic()
            run.close()
        elapsed = time.monotonic() - started
    print(f"langchain astream closed {elapsed * 1000:.1f} ms after run.close()")
    assert got == [TextDelta("a"), TextDelta("b"), TextDelta("c")]
    assert model.closed and model.produced == 3


@asyncio_only
async def test_a_consumer_that_stops_closes_the_model_stream() -> None:
    model = ScriptedChatModel(chunks=[AIMessageChunk(content=c) for c in "abcdef"])
    async with from_langchain(model.astream("hi")).open() as run:
        async for event in run:
            if event == TextDelta("b"):
                break
    assert model.closed and model.produced == 2


async def test_items_that_are_not_message_chunks_are_refused() -> None:
    with pytest.raises(TypeError, match="it reads chat model message chunks"):
        await from_langchain([{"answer": 42}]).list()
