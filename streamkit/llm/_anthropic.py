"""Anthropic: Messages API stream events, from the official SDK or the wire."""

from __future__ import annotations

import json
from typing import Any

from streamkit._core.closing import describe
from streamkit._core.stream import Stream
from streamkit.llm._events import IncompleteStreamError, LLMEvent, ReasoningDelta, TextDelta, Usage
from streamkit.llm._fields import count, field
from streamkit.llm._lazy import require
from streamkit.llm._reading import sdk_stream
from streamkit.llm._reasons import finish
from streamkit.llm._tools import ToolCallAssembler


def from_anthropic(source: object) -> Stream[LLMEvent]:
    """Events from an Anthropic SDK message stream.

    ``source`` may be the raw event stream of ``messages.create(..., stream=True)`` (sync or
    async), the ``messages.stream(...)`` manager or the ``MessageStream`` it gives, the
    coroutine of an ``AsyncAnthropic`` call not yet awaited, or a function returning one of
    these for a stream that can run again. A sync SDK stream is read in a worker thread.
    Ending the run closes the SDK stream and its HTTP response at once.

    >>> client = AsyncAnthropic()                                        # doctest: +SKIP
    >>> events = from_anthropic(client.messages.stream(
    ...     model="claude-sonnet-4-6", max_tokens=1024, messages=messages))
    >>> async for piece in events | text():
    ...     print(piece, end="")

    ``thinking`` blocks stream as :class:`ReasoningDelta`; ``tool_use`` blocks as
    :class:`ToolCallDelta` fragments, then a :class:`ToolCall` when the block ends. Tools the
    server runs itself (``server_tool_use``) are not client tool calls and are skipped.
    """
    require("anthropic", extra="anthropic", adapter="from_anthropic")
    return sdk_stream(source, AnthropicTranslator, adapter="from_anthropic")


class AnthropicTranslator:
    """The raw events of one message: message_start, content_block_*, message_delta, message_stop."""

    __slots__ = ("_tools", "_tool_inputs", "_streamed_input", "_usage", "_seen_usage", "_stop_reason", "_stopped")

    def __init__(self) -> None:
        self._tools = ToolCallAssembler()
        self._tool_inputs: dict[int, Any] = {}  # block index -> the input sent with content_block_start
        self._streamed_input: set[int] = set()
        # input, cache creation, cache read, output; message_delta's counts are running totals.
        self._usage = [0, 0, 0, 0]
        self._seen_usage = False
        self._stop_reason: str | None = None
        self._stopped = False

    def feed(self, event: Any) -> list[LLMEvent]:
        kind = field(event, "type")
        if kind == "content_block_delta":
            return self._block_delta(event)
        if kind == "content_block_start":
            return self._block_start(event)
        if kind == "content_block_stop":
            index = field(event, "index")
            if index not in self._tool_inputs:
                return []
            arguments = None
            if index not in self._streamed_input and self._tool_inputs[index]:
                arguments = json.dumps(self._tool_inputs[index], ensure_ascii=False)
            call = self._tools.complete(index, arguments=arguments)
            return [call] if call is not None else []
        if kind == "message_start":
            self._count(field(field(event, "message"), "usage"))
            return []
        if kind == "message_delta":
            self._stop_reason = field(field(event, "delta"), "stop_reason") or self._stop_reason
            self._count(field(event, "usage"))
            return []
        if kind == "message_stop":
            self._stopped = True
            return []
        if isinstance(kind, str):
            return []  # ping, and the helper's derived events (text, input_json, thinking, ...)
        raise TypeError(f"from_anthropic() got {describe(event)}, which is not a Messages stream event")

    def _block_start(self, event: Any) -> list[LLMEvent]:
        block = field(event, "content_block")
        kind = field(block, "type")
        if kind == "text":
            text = field(block, "text")
            return [TextDelta(text)] if text else []
        if kind == "thinking":
            thinking = field(block, "thinking")
            return [ReasoningDelta(thinking)] if thinking else []
        if kind == "tool_use":
            index = field(event, "index")
            self._tool_inputs[index] = field(block, "input")
            fragment = self._tools.fragment(index, id=field(block, "id"), name=field(block, "name"))
            return [fragment] if fragment is not None else []
        return []

    def _block_delta(self, event: Any) -> list[LLMEvent]:
        delta = field(event, "delta")
        kind = field(delta, "type")
        if kind == "text_delta":
            text = field(delta, "text")
            return [TextDelta(text)] if text else []
        if kind == "input_json_delta":
            index = field(event, "index")
            if index not in self._tool_inputs:
                return []  # a server tool's input
            partial = field(delta, "partial_json") or ""
            if partial:
                self._streamed_input.add(index)
            fragment = self._tools.fragment(index, arguments=partial)
            return [fragment] if fragment is not None else []
        if kind == "thinking_delta":
            thinking = field(delta, "thinking")
            return [ReasoningDelta(thinking)] if thinking else []
        return []  # signature_delta, citations_delta

    def _count(self, usage: Any) -> None:
        if usage is None:
            return
        self._seen_usage = True
        for slot, name in enumerate(
            ("input_tokens", "cache_creation_input_tokens", "cache_read_input_tokens", "output_tokens")
        ):
            if isinstance(field(usage, name), int):
                self._usage[slot] = count(usage, name)

    def end(self) -> list[LLMEvent]:
        if self._stop_reason is None and not self._stopped:
            raise IncompleteStreamError(
                "the Anthropic stream ended before the message was complete (no message_stop): "
                "the connection was probably cut"
            )
        events: list[LLMEvent] = list(self._tools.complete_all())
        if self._seen_usage:
            fresh, created, read, output = self._usage
            prompt = fresh + created + read
            events.append(Usage(prompt, output, prompt + output, read))
        events.append(finish(self._stop_reason, tool_calls=self._tools.seen_any))
        return events
