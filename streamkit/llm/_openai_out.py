"""LLM events out as an OpenAI-compatible ``chat.completion.chunk`` event stream.

The official ``openai`` SDK (and every client written against the OpenAI API) reads this as
if it came from the real service: role first, content and tool-call deltas, a chunk with the
finish reason, a usage chunk with empty ``choices``, then ``data: [DONE]``.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import AsyncIterable, AsyncIterator
from typing import Any

from streamkit._core.closing import describe, opened
from streamkit._core.marks import Framing
from streamkit._core.stream import Step, Stream, generator_step
from streamkit._framing.sse import encode_event
from streamkit._framing.steps import SSE_FRAMING, to_sse
from streamkit.llm._events import Error, Finish, ReasoningDelta, TextDelta, ToolCall, ToolCallDelta, Usage

# OpenAI's own finish reasons; streamkit's "error" and "other" have no OpenAI word, and an
# OpenAI client knows only these, so they are reported as a natural stop.
_OPENAI_REASONS = {"stop": "stop", "length": "length", "tool_calls": "tool_calls", "content_filter": "content_filter"}


def _openai_error_frame(error: BaseException) -> bytes:
    # The SDK raises APIError on a data payload with an "error" object; only the type crosses
    # to the client, since an exception's text may hold internals.
    body = {"error": {"message": f"the stream failed: {type(error).__name__}", "type": "server_error", "code": None}}
    return encode_event(json.dumps(body))


_OPENAI_FRAMING = Framing(
    media_type=SSE_FRAMING.media_type, keepalive=SSE_FRAMING.keepalive, encode_error=_openai_error_frame
)


def openai_sse(
    *, model: str, id: str | None = None, created: int | None = None, include_usage: bool = True, ids: bool = False
) -> Step[Any, bytes]:
    """Frame LLM events (or plain ``str`` deltas) as an OpenAI Chat Completions event stream.

    - :class:`TextDelta` / ``str``: ``delta.content``; :class:`ReasoningDelta`:
      ``delta.reasoning_content`` (as OpenAI-compatible servers send it);
      :class:`ToolCallDelta`: ``delta.tool_calls`` (id, type and name with a call's first
      fragment); a :class:`ToolCall` nobody streamed fragments for is sent whole.
    - :class:`Finish`: a chunk with ``finish_reason`` (``"error"`` and ``"other"`` become
      ``"stop"``); a source that ends without one gets ``"stop"``.
    - :class:`Usage` (``include_usage``): a last chunk with ``"choices": []`` and ``usage``.
    - :class:`Error`: a ``{"error": {...}}`` payload, which the SDK raises as ``APIError``.
    - ``id`` (default: a fresh ``chatcmpl-...`` per run) and ``created`` (default: now) are
      the same in every chunk of a run; ``ids=True`` numbers events for ``Last-Event-ID``.

    >>> events = from_openai(client.chat.completions.create(..., stream=True))   # doctest: +SKIP
    >>> app = asgi(events | openai_sse(model="gpt-4o-mini"), heartbeat=15)
    """
    if not isinstance(model, str) or not model:
        raise TypeError(f"openai_sse(model=...) must be a non-empty str, got {describe(model)}")
    if id is not None and not isinstance(id, str):
        raise TypeError(f"openai_sse(id=...) must be a str or None, got {describe(id)}")
    if created is not None and (not isinstance(created, int) or isinstance(created, bool)):
        raise TypeError(f"openai_sse(created=...) must be an int (Unix seconds) or None, got {describe(created)}")
    frame = to_sse(ids=ids, done="[DONE]")

    async def chunks(source: AsyncIterable[Any]) -> AsyncIterator[str]:
        writer = _ChunkWriter(model, id or f"chatcmpl-{uuid.uuid4().hex}", created or int(time.time()))
        async with opened(source) as events:
            async for event in events:
                for chunk in writer.feed(event):
                    yield chunk
        for chunk in writer.end(include_usage):
            yield chunk

    chunked = generator_step(chunks)

    def apply(source: AsyncIterable[Any]) -> Stream[bytes]:
        return frame(chunked(source)).framed(_OPENAI_FRAMING)

    return apply


class _ChunkWriter:
    """Builds the JSON text of each chunk of one response."""

    def __init__(self, model: str, id: str, created: int) -> None:
        self._head = {"id": id, "object": "chat.completion.chunk", "created": created, "model": model}
        self._started = False
        self._finished = False
        self._usage: Usage | None = None
        self._announced: set[int] = set()
        """Tool calls whose id and name were already sent."""

    def _chunk(self, delta: dict[str, Any], finish_reason: str | None = None) -> str:
        choice = {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish_reason}
        return json.dumps({**self._head, "choices": [choice]}, ensure_ascii=False)

    def _delta(self, delta: dict[str, Any]) -> list[str]:
        if self._started:
            return [self._chunk(delta)]
        self._started = True
        return [self._chunk({"role": "assistant", "content": ""}), self._chunk(delta)]

    def _tool(self, index: int, id: str | None, name: str | None, arguments: str) -> list[str]:
        call: dict[str, Any] = {"index": index}
        if index not in self._announced:
            self._announced.add(index)
            call.update(id=id, type="function", function={"name": name, "arguments": arguments})
        else:
            call["function"] = {"arguments": arguments}
        return self._delta({"tool_calls": [call]})

    def feed(self, event: Any) -> list[str]:
        kind = event.__class__
        if kind is TextDelta or kind is str:
            piece = event.text if kind is TextDelta else event
            return self._delta({"content": piece}) if piece else []
        if kind is ReasoningDelta:
            return self._delta({"reasoning_content": event.text}) if event.text else []
        if kind is ToolCallDelta:
            return self._tool(event.index, event.id, event.name, event.arguments_delta)
        if kind is ToolCall:
            # Adapters send fragments first; a hand-made ToolCall alone is sent whole.
            return [] if event.index in self._announced else self._tool(event.index, event.id, event.name, event.arguments)
        if kind is Usage:
            self._usage = event
            return []
        if kind is Finish:
            return self._finish(_OPENAI_REASONS.get(event.reason, "stop"))
        if kind is Error:
            return [json.dumps({"error": {"message": event.message, "type": "server_error", "code": event.code}})]
        raise TypeError(f"openai_sse() takes LLM events or str deltas, got {describe(event)}")

    def _finish(self, reason: str) -> list[str]:
        if self._finished:
            return []
        self._finished = True
        out = [] if self._started else [self._chunk({"role": "assistant", "content": ""})]
        self._started = True
        out.append(self._chunk({}, reason))
        return out

    def end(self, include_usage: bool) -> list[str]:
        out = self._finish("stop")
        if include_usage and self._usage is not None:
            usage = self._usage
            out.append(
                json.dumps(
                    {
                        **self._head,
                        "choices": [],
                        "usage": {
                            "prompt_tokens": usage.input_tokens,
                            "completion_tokens": usage.output_tokens,
                            "total_tokens": usage.total_tokens,
                            "prompt_tokens_details": {"cached_tokens": usage.cached_input_tokens},
                        },
                    }
                )
            )
        return out
