"""LLM events out as the Vercel AI SDK's UI message stream (``useChat`` on the front end).

The protocol is SSE whose every event's data is one JSON part, ending with ``data: [DONE]``,
served with the header ``x-vercel-ai-ui-message-stream: v1``::

    start → start-step → text-start → text-delta* → text-end → tool-input-start →
    tool-input-delta* → tool-input-available → finish-step → finish → [DONE]

The AI SDK validates parts against strict schemas: a part with an unknown field is rejected,
so every part here carries only the fields the protocol defines.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterable, AsyncIterator, Callable
from typing import Any

from streamkit._core.closing import describe, opened
from streamkit._core.marks import Framing
from streamkit._core.stream import Step, Stream, generator_step
from streamkit._framing.sse import encode_event
from streamkit._framing.steps import SSE_FRAMING, to_sse
from streamkit.llm._events import Error, Finish, ReasoningDelta, TextDelta, ToolCall, ToolCallDelta, Usage

UI_MESSAGE_STREAM_HEADER = ("x-vercel-ai-ui-message-stream", "v1")

# The AI SDK's finish reasons (v6) use hyphens.
_AI_SDK_REASONS = {
    "stop": "stop",
    "length": "length",
    "tool_calls": "tool-calls",
    "content_filter": "content-filter",
    "error": "error",
    "other": "other",
}


def _ai_sdk_error_frame(error: BaseException) -> bytes:
    # Only the type crosses to the client: an exception's text may hold internals.
    return encode_event(json.dumps({"type": "error", "errorText": f"the stream failed: {type(error).__name__}"}))


_AI_SDK_FRAMING = Framing(
    media_type=SSE_FRAMING.media_type,
    headers=(UI_MESSAGE_STREAM_HEADER,),
    keepalive=SSE_FRAMING.keepalive,
    encode_error=_ai_sdk_error_frame,
)


def ai_sdk_sse(
    *,
    message_id: str | None = None,
    finish_reason: bool = False,
    metadata: Callable[[Usage | None, Finish | None], Any] | None = None,
) -> Step[Any, bytes]:
    """Frame LLM events (or plain ``str`` deltas) as the AI SDK UI message stream protocol.

    Text becomes ``text-start`` / ``text-delta`` / ``text-end``, reasoning the same with
    ``reasoning-*``, a tool call ``tool-input-start`` / ``tool-input-delta`` /
    ``tool-input-available`` (its parsed ``input``), an :class:`Error` an ``error`` part; the
    stream ends with ``finish-step``, ``finish`` and ``data: [DONE]``. The stream is marked
    with the ``x-vercel-ai-ui-message-stream: v1`` header, so ``asgi()`` sends it.

    - ``message_id``: the ``start`` part's ``messageId`` (default: a fresh id per run).
    - ``finish_reason=True``: put ``finishReason`` in the ``finish`` part (AI SDK 6 reads it;
      AI SDK 5's strict schema rejects it, so it is off by default).
    - ``metadata(usage, finish)``: a JSON value sent as the ``finish`` part's
      ``messageMetadata`` (e.g. token counts for the front end).

    >>> app = asgi(from_openai(stream) | ai_sdk_sse())     # doctest: +SKIP
    """
    if message_id is not None and not isinstance(message_id, str):
        raise TypeError(f"ai_sdk_sse(message_id=...) must be a str or None, got {describe(message_id)}")
    if metadata is not None and not callable(metadata):
        raise TypeError(f"ai_sdk_sse(metadata=...) must be a function of (usage, finish), got {describe(metadata)}")
    frame = to_sse(done="[DONE]")

    async def parts(source: AsyncIterable[Any]) -> AsyncIterator[dict[str, Any]]:
        writer = _PartWriter(message_id or f"msg-{uuid.uuid4().hex}")
        async with opened(source) as events:
            async for event in events:
                for part in writer.feed(event):
                    yield part
        for part in writer.end(finish_reason, metadata):
            yield part

    framed_parts = generator_step(parts)

    def apply(source: AsyncIterable[Any]) -> Stream[bytes]:
        return frame(framed_parts(source)).framed(_AI_SDK_FRAMING)

    return apply


class _PartWriter:
    """The parts of one assistant message, with the open text/reasoning block tracked."""

    def __init__(self, message_id: str) -> None:
        self._message_id = message_id
        self._started = False
        self._open: tuple[str, str] | None = None
        """The open block: ("text" or "reasoning", its id)."""
        self._blocks = 0
        self._calls: dict[int, tuple[str, str]] = {}
        """Tool calls announced so far: index -> (toolCallId, toolName)."""
        self._usage: Usage | None = None
        self._finish: Finish | None = None

    def _start(self) -> list[dict[str, Any]]:
        if self._started:
            return []
        self._started = True
        return [{"type": "start", "messageId": self._message_id}, {"type": "start-step"}]

    def _close_block(self) -> list[dict[str, Any]]:
        if self._open is None:
            return []
        kind, id = self._open
        self._open = None
        return [{"type": f"{kind}-end", "id": id}]

    def _piece(self, kind: str, piece: str) -> list[dict[str, Any]]:
        out = self._start()
        if self._open is None or self._open[0] != kind:
            out += self._close_block()
            self._blocks += 1
            self._open = (kind, f"{kind}-{self._blocks}")
            out.append({"type": f"{kind}-start", "id": self._open[1]})
        out.append({"type": f"{kind}-delta", "id": self._open[1], "delta": piece})
        return out

    def _call(self, index: int, id: str | None, name: str | None) -> tuple[list[dict[str, Any]], str]:
        known = self._calls.get(index)
        if known is not None:
            return [], known[0]
        call_id = id or f"call-{index}"
        self._calls[index] = (call_id, name or "")
        out = self._start() + self._close_block()
        out.append({"type": "tool-input-start", "toolCallId": call_id, "toolName": name or ""})
        return out, call_id

    def feed(self, event: Any) -> list[dict[str, Any]]:
        kind = event.__class__
        if kind is TextDelta or kind is str:
            piece = event.text if kind is TextDelta else event
            return self._piece("text", piece) if piece else []
        if kind is ReasoningDelta:
            return self._piece("reasoning", event.text) if event.text else []
        if kind is ToolCallDelta:
            out, call_id = self._call(event.index, event.id, event.name)
            if event.arguments_delta:
                out.append({"type": "tool-input-delta", "toolCallId": call_id, "inputTextDelta": event.arguments_delta})
            return out
        if kind is ToolCall:
            out, call_id = self._call(event.index, event.id, event.name)
            out.append({"type": "tool-input-available", "toolCallId": call_id, "toolName": event.name, "input": event.json()})
            return out
        if kind is Usage:
            self._usage = event
            return []
        if kind is Finish:
            self._finish = event
            return []
        if kind is Error:
            return self._start() + self._close_block() + [{"type": "error", "errorText": event.message}]
        raise TypeError(f"ai_sdk_sse() takes LLM events or str deltas, got {describe(event)}")

    def end(
        self, finish_reason: bool, metadata: Callable[[Usage | None, Finish | None], Any] | None
    ) -> list[dict[str, Any]]:
        out = self._start() + self._close_block()
        out.append({"type": "finish-step"})
        finish: dict[str, Any] = {"type": "finish"}
        if finish_reason:
            finish["finishReason"] = _AI_SDK_REASONS[self._finish.reason if self._finish else "stop"]
        if metadata is not None:
            finish["messageMetadata"] = metadata(self._usage, self._finish)
        out.append(finish)
        return out
