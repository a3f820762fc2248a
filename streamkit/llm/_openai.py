"""OpenAI: Chat Completions chunks and Responses API events, from the official SDK or the wire."""

from __future__ import annotations

from typing import Any

from streamkit._core.closing import describe
from streamkit._core.stream import Stream
from streamkit.llm._events import (
    Error,
    Finish,
    IncompleteStreamError,
    LLMEvent,
    ReasoningDelta,
    TextDelta,
    Usage,
)
from streamkit.llm._fields import count, field
from streamkit.llm._lazy import require
from streamkit.llm._reading import sdk_stream
from streamkit.llm._reasons import finish
from streamkit.llm._tools import ToolCallAssembler


def from_openai(source: object) -> Stream[LLMEvent]:
    """Events from an OpenAI SDK stream: Chat Completions or the Responses API.

    ``source`` may be what the SDK returns (``Stream`` / ``AsyncStream`` from
    ``create(..., stream=True)``, the managers from ``chat.completions.stream(...)`` and
    ``responses.stream(...)``, or the coroutine from an ``AsyncOpenAI`` call, not yet
    awaited), or a function returning one of these for a stream that can run again. A sync
    SDK stream is read in a worker thread. Ending the run closes the SDK stream and its HTTP
    response at once: no further token is read.

    >>> client = AsyncOpenAI()                                           # doctest: +SKIP
    >>> events = from_openai(client.chat.completions.create(
    ...     model="gpt-4o-mini", messages=messages, stream=True,
    ...     stream_options={"include_usage": True}))
    >>> async for piece in events | text():
    ...     print(piece, end="")

    Chunks without choices (the usage chunk) are handled; ask for one choice (``n=1``).
    A refusal streams as text; ``reasoning_content`` deltas (OpenAI-compatible servers such
    as DeepSeek's) as :class:`ReasoningDelta`. Plain dicts parsed from the wire work too.
    """
    require("openai", extra="openai", adapter="from_openai")
    return sdk_stream(source, OpenAITranslator, adapter="from_openai")


# Events the SDK's chat.completions.stream() helper derives from the chunks it also yields.
_CHAT_HELPER_PREFIXES = ("content.", "refusal.", "tool_calls.", "logprobs.")


class OpenAITranslator:
    """Chat Completions chunks or Responses API events of one response (whichever arrive)."""

    __slots__ = ("_tools", "_usage", "_finish")

    def __init__(self) -> None:
        self._tools = ToolCallAssembler()
        self._usage: Usage | None = None
        self._finish: Finish | None = None

    def feed(self, item: Any) -> list[LLMEvent]:
        if field(item, "choices") is not None or field(item, "object") == "chat.completion.chunk":
            return self._chunk(item)
        kind = field(item, "type")
        if isinstance(kind, str):
            if kind.startswith("response.") or kind == "error":
                return self._response_event(item, kind)
            if kind == "chunk" and field(item, "chunk") is not None:
                return self._chunk(field(item, "chunk"))
            if kind.startswith(_CHAT_HELPER_PREFIXES):
                return []
        raise TypeError(
            f"from_openai() got {describe(item)}, which is neither a chat.completion.chunk nor a Responses API event"
        )

    def end(self) -> list[LLMEvent]:
        if self._finish is None:
            raise IncompleteStreamError(
                "the OpenAI stream ended before the response was complete (no finish reason): "
                "the connection was probably cut"
            )
        events: list[LLMEvent] = list(self._tools.complete_all())
        if self._usage is not None:
            events.append(self._usage)
        events.append(self._finish)
        return events

    # -- Chat Completions ------------------------------------------------------------------

    def _chunk(self, chunk: Any) -> list[LLMEvent]:
        events: list[LLMEvent] = []
        for choice in field(chunk, "choices") or ():
            index = field(choice, "index") or 0
            if index != 0:
                raise ValueError(
                    f"from_openai() reads one choice per response, but this stream has choice {index}; request n=1"
                )
            delta = field(choice, "delta")
            if delta is not None:
                self._delta(delta, events)
            reason = field(choice, "finish_reason")
            if reason:
                events.extend(self._tools.complete_all())
                self._finish = finish(reason, tool_calls=self._tools.seen_any)
        usage = field(chunk, "usage")
        if usage:
            # Kept until the end: some servers repeat a running total in every chunk.
            prompt = count(usage, "prompt_tokens")
            completion = count(usage, "completion_tokens")
            self._usage = Usage(
                prompt,
                completion,
                count(usage, "total_tokens") or prompt + completion,
                count(field(usage, "prompt_tokens_details"), "cached_tokens"),
            )
        return events

    def _delta(self, delta: Any, events: list[LLMEvent]) -> None:
        reasoning = field(delta, "reasoning_content") or field(delta, "reasoning")
        if reasoning and isinstance(reasoning, str):
            events.append(ReasoningDelta(reasoning))
        content = field(delta, "content")
        if content:
            events.append(TextDelta(content))
        refusal = field(delta, "refusal")
        if refusal:
            events.append(TextDelta(refusal))
        for position, call in enumerate(field(delta, "tool_calls") or ()):
            function = field(call, "function")
            key = field(call, "index")
            fragment = self._tools.fragment(
                position if key is None else key,
                id=field(call, "id"),
                name=field(function, "name"),
                arguments=field(function, "arguments") or "",
            )
            if fragment is not None:
                events.append(fragment)
        legacy = field(delta, "function_call")  # the deprecated single-function form
        if legacy is not None:
            fragment = self._tools.fragment(
                "function_call", name=field(legacy, "name"), arguments=field(legacy, "arguments") or ""
            )
            if fragment is not None:
                events.append(fragment)

    # -- Responses API ---------------------------------------------------------------------

    def _response_event(self, event: Any, kind: str) -> list[LLMEvent]:
        if kind == "response.output_text.delta" or kind == "response.refusal.delta":
            delta = field(event, "delta")
            return [TextDelta(delta)] if delta else []
        if kind == "response.reasoning_summary_text.delta" or kind == "response.reasoning_text.delta":
            delta = field(event, "delta")
            return [ReasoningDelta(delta)] if delta else []
        if kind == "response.reasoning_summary_part.added" and field(event, "summary_index"):
            return [ReasoningDelta("\n\n")]  # summary parts are paragraphs
        if kind == "response.output_item.added":
            item = field(event, "item")
            if field(item, "type") != "function_call":
                return []
            fragment = self._tools.fragment(
                field(event, "output_index"),
                id=field(item, "call_id"),
                name=field(item, "name"),
                arguments=field(item, "arguments") or "",
            )
            return [fragment] if fragment is not None else []
        if kind == "response.function_call_arguments.delta":
            fragment = self._tools.fragment(field(event, "output_index"), arguments=field(event, "delta") or "")
            return [fragment] if fragment is not None else []
        if kind == "response.output_item.done":
            return self._item_done(event)
        if kind in ("response.completed", "response.incomplete", "response.failed"):
            return self._response_done(field(event, "response"), kind)
        if kind == "error":
            self._finish = Finish("error", "error")
            return [Error(field(event, "message") or "the OpenAI stream reported an error", field(event, "code"))]
        return []

    def _item_done(self, event: Any) -> list[LLMEvent]:
        item = field(event, "item")
        if field(item, "type") != "function_call":
            return []
        key = field(event, "output_index")
        arguments = field(item, "arguments")
        events: list[LLMEvent] = []
        if not self._tools.has(key):
            # The call's earlier events were not seen (responses.stream(starting_after=...)):
            # announce it whole.
            for fragment in (
                self._tools.fragment(key, id=field(item, "call_id"), name=field(item, "name")),
                self._tools.fragment(key, arguments=arguments or ""),
            ):
                if fragment is not None:
                    events.append(fragment)
        done = self._tools.complete(key, arguments=arguments)
        if done is not None:
            events.append(done)
        return events

    def _response_done(self, response: Any, kind: str) -> list[LLMEvent]:
        events: list[LLMEvent] = list(self._tools.complete_all())
        usage = field(response, "usage")
        if usage:
            self._usage = Usage(
                count(usage, "input_tokens"),
                count(usage, "output_tokens"),
                count(usage, "total_tokens") or count(usage, "input_tokens") + count(usage, "output_tokens"),
                count(field(usage, "input_tokens_details"), "cached_tokens"),
            )
        if kind == "response.failed":
            error = field(response, "error")
            events.append(Error(field(error, "message") or "the response failed", field(error, "code")))
            self._finish = Finish("error", "failed")
        elif kind == "response.incomplete":
            reason = field(field(response, "incomplete_details"), "reason")
            self._finish = finish(reason or "incomplete", tool_calls=False)
        else:
            self._finish = finish("completed", tool_calls=self._tools.seen_any)
        return events
