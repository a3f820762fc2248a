"""LangChain: the message chunks of a chat model's ``astream`` / ``stream``."""

from __future__ import annotations

import json
from typing import Any

from streamkit._core.closing import describe
from streamkit._core.stream import Stream
from streamkit.llm._events import LLMEvent, ReasoningDelta, TextDelta, Usage
from streamkit.llm._fields import count, field
from streamkit.llm._lazy import require
from streamkit.llm._reading import sdk_stream
from streamkit.llm._reasons import finish
from streamkit.llm._tools import ToolCallAssembler


def from_langchain(source: object) -> Stream[LLMEvent]:
    """Events from the chunks of a LangChain chat model (or a chain ending in one).

    ``source`` may be ``model.astream(messages)``, ``model.stream(messages)`` (read in a
    worker thread), or a function returning one of them, e.g. ``lambda: model.astream(q)``,
    for a stream that can run again. Items may be ``AIMessageChunk`` (``content`` a string or
    a list of content blocks; ``tool_call_chunks``; ``usage_metadata``) or plain strings
    (a chain ending in ``StrOutputParser``).

    >>> events = from_langchain(lambda: model.astream("Tell me a joke"))  # doctest: +SKIP
    >>> async for piece in events | text():
    ...     print(piece, end="")

    LangChain has no end-of-response marker: the stream ends with ``Usage`` (when any chunk
    carried ``usage_metadata``, summed as LangChain sums them) and ``Finish`` with the
    provider's reason from ``response_metadata``, or ``stop`` / ``tool_calls`` without one.
    """
    require("langchain_core", extra="langchain", adapter="from_langchain")
    return sdk_stream(source, LangChainTranslator, adapter="from_langchain")


_REASON_KEYS = ("finish_reason", "stop_reason", "done_reason")


class LangChainTranslator:
    """Chunks of one model response; usage is summed over chunks, as ``chunk + chunk`` does."""

    __slots__ = ("_tools", "_usage", "_seen_usage", "_reason", "_last_key", "_whole_calls")

    def __init__(self) -> None:
        self._tools = ToolCallAssembler()
        self._usage = [0, 0, 0, 0]  # input, output, total, cache read
        self._seen_usage = False
        self._reason: str | None = None
        self._last_key: Any = None
        self._whole_calls = 0

    def feed(self, chunk: Any) -> list[LLMEvent]:
        if isinstance(chunk, str):
            return [TextDelta(chunk)] if chunk else []
        content = field(chunk, "content")
        if content is None or isinstance(chunk, dict):
            raise TypeError(
                f"from_langchain() got {describe(chunk)}; "
                "it reads chat model message chunks (AIMessageChunk) or strings"
            )
        events: list[LLMEvent] = []
        if isinstance(content, str):
            if content:
                events.append(TextDelta(content))
        else:
            for block in content:
                self._block(block, events)
        chunks = field(chunk, "tool_call_chunks")
        if chunks:
            for position, piece in enumerate(chunks):
                self._tool_chunk(piece, position, events)
        elif field(chunk, "tool_calls"):
            self._whole_tool_calls(field(chunk, "tool_calls"), events)
        self._count(field(chunk, "usage_metadata"))
        metadata = field(chunk, "response_metadata") or {}
        for key in _REASON_KEYS:
            reason = metadata.get(key)
            if isinstance(reason, str) and reason:
                self._reason = reason
        return events

    @staticmethod
    def _block(block: Any, events: list[LLMEvent]) -> None:
        if isinstance(block, str):
            if block:
                events.append(TextDelta(block))
            return
        kind = field(block, "type")
        if kind == "text":
            text = field(block, "text")
            if text:
                events.append(TextDelta(text))
        elif kind in ("thinking", "reasoning"):
            thinking = field(block, kind)
            if thinking and isinstance(thinking, str):
                events.append(ReasoningDelta(thinking))
        # tool_use / input_json_delta blocks repeat what tool_call_chunks carry

    def _tool_chunk(self, piece: Any, position: int, events: list[LLMEvent]) -> None:
        index = field(piece, "index")
        id = field(piece, "id")
        # LangChain merges chunks by index; a provider without indexes keys by id, and a
        # fragment with neither continues the call before it.
        if index is not None:
            key: Any = ("index", index)
        elif id:
            key = ("id", id)
        else:
            key = self._last_key if self._last_key is not None else ("position", position)
        self._last_key = key
        fragment = self._tools.fragment(key, id=id, name=field(piece, "name"), arguments=field(piece, "args") or "")
        if fragment is not None:
            events.append(fragment)

    def _whole_tool_calls(self, calls: Any, events: list[LLMEvent]) -> None:
        # A whole AIMessage (not a chunk), e.g. from a chain step that does not stream.
        for call in calls:
            key = ("whole", self._whole_calls)
            self._whole_calls += 1
            fragment = self._tools.fragment(
                key,
                id=field(call, "id"),
                name=field(call, "name"),
                arguments=json.dumps(field(call, "args") or {}, ensure_ascii=False),
            )
            done = self._tools.complete(key)
            events.extend(event for event in (fragment, done) if event is not None)

    def _count(self, usage: Any) -> None:
        if not usage:
            return
        self._seen_usage = True
        self._usage[0] += count(usage, "input_tokens")
        self._usage[1] += count(usage, "output_tokens")
        self._usage[2] += count(usage, "total_tokens")
        self._usage[3] += count(field(usage, "input_token_details"), "cache_read")

    def end(self) -> list[LLMEvent]:
        events: list[LLMEvent] = list(self._tools.complete_all())
        if self._seen_usage:
            prompt, output, total, cached = self._usage
            events.append(Usage(prompt, output, total or prompt + output, cached))
        events.append(finish(self._reason, tool_calls=self._tools.seen_any))
        return events
