"""Ollama: the NDJSON chat (and generate) stream, through the ``ollama`` package."""

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


def from_ollama(source: object) -> Stream[LLMEvent]:
    """Events from an Ollama stream: ``chat(..., stream=True)`` or ``generate(..., stream=True)``.

    ``source`` may be the coroutine of ``AsyncClient().chat(..., stream=True)`` (awaited by
    the run), the async iterator it gives, the iterator of the sync ``Client``, or a function
    returning one of these. The sync iterator is read in a worker thread. Ending the run
    closes the HTTP response.

    >>> client = ollama.AsyncClient()                                    # doctest: +SKIP
    >>> events = from_ollama(client.chat(model="llama3.2", messages=messages, stream=True))
    >>> async for piece in events | text():
    ...     print(piece, end="")

    Ollama sends each tool call whole: it comes as one :class:`ToolCallDelta` with all its
    arguments and at once a :class:`ToolCall` (Ollama gives no call id: ``id`` is None).
    """
    require("ollama", extra="ollama", adapter="from_ollama")
    return sdk_stream(source, OllamaTranslator, adapter="from_ollama")


class OllamaTranslator:
    """The parts of one Ollama response, up to the part with ``done: true``."""

    __slots__ = ("_tools", "_calls", "_done", "_usage", "_reason")

    def __init__(self) -> None:
        self._tools = ToolCallAssembler()
        self._calls = 0
        self._done = False
        self._usage: Usage | None = None
        self._reason: str | None = None

    def feed(self, part: Any) -> list[LLMEvent]:
        message = field(part, "message")
        source = part if message is None else message
        content = field(source, "content" if message is not None else "response")
        if message is None and content is None and field(part, "done") is None:
            raise TypeError(f"from_ollama() got {describe(part)}, which is not an Ollama chat or generate response")
        events: list[LLMEvent] = []
        thinking = field(source, "thinking")
        if thinking:
            events.append(ReasoningDelta(thinking))
        if content:
            events.append(TextDelta(content))
        calls = field(message, "tool_calls") if message is not None else None
        for call in calls or ():
            function = field(call, "function")
            arguments = field(function, "arguments")
            key = self._calls
            self._calls += 1
            fragment = self._tools.fragment(
                key,
                id=field(call, "id"),
                name=field(function, "name"),
                arguments=json.dumps(dict(arguments or {}), ensure_ascii=False),
            )
            done = self._tools.complete(key)
            events.extend(event for event in (fragment, done) if event is not None)
        if field(part, "done"):
            self._done = True
            self._reason = field(part, "done_reason")
            prompt = count(part, "prompt_eval_count")
            output = count(part, "eval_count")
            self._usage = Usage(prompt, output, prompt + output)
        return events

    def end(self) -> list[LLMEvent]:
        if not self._done:
            raise IncompleteStreamError(
                "the Ollama stream ended before its last part (done: true): the connection was probably cut"
            )
        assert self._usage is not None
        return [self._usage, finish(self._reason, tool_calls=self._tools.seen_any)]
