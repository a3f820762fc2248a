"""Real provider wire bytes, cut at awkward places, served to the real SDKs through a mock transport.

The SDKs run unchanged: each gets its own HTTP client (``http_client=`` for openai and
anthropic, which use ``httpx2``; ``transport=`` for ollama, which uses ``httpx``) whose
transport answers with a response body this module controls. The body counts the chunks the
SDK pulled, can stall after a given chunk (an LLM slow to send its next token), and records
when it was closed.
"""

from __future__ import annotations

import json
import threading
from collections.abc import AsyncIterator, Iterator, Sequence
from typing import Any

import anyio
import pytest

# The SDKs bring these; without them the SDK tests are skipped, not broken.
httpx = pytest.importorskip("httpx")
httpx2 = pytest.importorskip("httpx2")

# On trio, the SDKs leave their own async generators unexhausted: the openai SDK even when a
# stream is read to its end (AsyncStream.__stream__ breaks at [DONE] without closing
# _iter_events), ollama when a line carries an error (httpx's aiter_lines/aiter_text), and
# all of them when a stream is closed early with the SDK's own close(). Trio warns when the
# garbage collector finds them. That happens without streamkit too; these filters hide exactly
# those warnings, from those modules.
SDK_GENERATOR_WARNINGS = [
    pytest.mark.filterwarnings(
        r"ignore:Async generator '(openai|anthropic)\._streaming\.[\w.]+' was garbage collected:ResourceWarning"
    ),
    pytest.mark.filterwarnings(
        r"ignore:Async generator 'httpx2?\._models\.Response\.\w+' was garbage collected:ResourceWarning"
    ),
]

# -- encoding --------------------------------------------------------------------------------


def sse(events: Sequence[tuple[str | None, Any]], *, line_end: str = "\n") -> bytes:
    """An SSE body: ``(event name or None, data)`` pairs; a dict is sent as JSON."""
    out = []
    for name, data in events:
        lines = [] if name is None else [f"event: {name}"]
        lines.append("data: " + (data if isinstance(data, str) else json.dumps(data, ensure_ascii=False)))
        out.append(line_end.join(lines) + line_end + line_end)
    return "".join(out).encode()


def ndjson(parts: Sequence[dict[str, Any]]) -> bytes:
    return b"".join(json.dumps(part, ensure_ascii=False).encode() + b"\n" for part in parts)


def awkward(body: bytes) -> list[bytes]:
    """``body`` cut inside every multi-byte UTF-8 character, between every CR and its LF, and
    every 61 bytes besides (inside field names, JSON strings, ``data: [DONE]``)."""
    cuts = set(range(61, len(body), 61))
    for i, byte in enumerate(body):
        if byte >= 0xC0:  # the lead byte of a multi-byte character: cut right after it
            cuts.add(i + 1)
        if byte == 0x0D and body[i + 1 : i + 2] == b"\n":
            cuts.add(i + 1)
    assert any(body[c - 1] >= 0xC0 for c in cuts), "the body has no multi-byte character to cut inside"
    assert b"\r\n" not in body or any(body[c - 1 : c + 1] == b"\r\n" for c in cuts)
    bounds = [0, *sorted(cuts), len(body)]
    return [body[a:b] for a, b in zip(bounds, bounds[1:]) if b > a]


def per_event(body: bytes, separator: bytes = b"\n\n") -> list[bytes]:
    """``body`` in chunks of one event (or NDJSON line) each."""
    pieces = body.split(separator)
    chunks = [piece + separator for piece in pieces[:-1]]
    return chunks + ([pieces[-1]] if pieces[-1] else [])


# -- bodies ----------------------------------------------------------------------------------


class _BodyState:
    def __init__(self, chunks: Sequence[bytes], stall_after: int | None) -> None:
        self.chunks = list(chunks)
        self.stall_after = stall_after
        self.pulled = 0
        """Chunks handed to the client so far."""
        self.closed = False
        self.stalled = threading.Event()
        """Set when the body starts waiting after ``stall_after`` chunks."""
        self.pulled_after_close = 0

    def take(self, i: int) -> bytes:
        if self.closed:
            self.pulled_after_close += 1
        self.pulled = i + 1
        return self.chunks[i]


def _async_body(base: type) -> type:
    class AsyncBody(base, _BodyState):  # type: ignore[misc, valid-type]
        """An async body; stalls (until closed) after ``stall_after`` chunks."""

        def __init__(self, chunks: Sequence[bytes], stall_after: int | None = None) -> None:
            _BodyState.__init__(self, chunks, stall_after)
            self._closed_event: anyio.Event | None = None

        async def __aiter__(self) -> AsyncIterator[bytes]:
            self._closed_event = anyio.Event()
            for i in range(len(self.chunks)):
                if i == self.stall_after:
                    self.stalled.set()
                    await self._closed_event.wait()
                    return
                yield self.take(i)

        async def aclose(self) -> None:
            self.closed = True
            if self._closed_event is not None:
                self._closed_event.set()

    return AsyncBody


def _sync_body(base: type) -> type:
    class SyncBody(base, _BodyState):  # type: ignore[misc, valid-type]
        """A blocking body; stalls (until closed, from any thread) after ``stall_after`` chunks."""

        def __init__(self, chunks: Sequence[bytes], stall_after: int | None = None) -> None:
            _BodyState.__init__(self, chunks, stall_after)
            self._wake = threading.Event()
            self.reader_done = threading.Event()
            """Set when the thread reading the body has left it."""

        def __iter__(self) -> Iterator[bytes]:
            try:
                for i in range(len(self.chunks)):
                    if i == self.stall_after:
                        self.stalled.set()
                        self._wake.wait(10)
                        if self.closed:
                            return
                    yield self.take(i)
            finally:
                self.reader_done.set()

        def resume(self) -> None:
            """Send the rest of the body (the model sends its next token after all)."""
            self._wake.set()

        def close(self) -> None:
            self.closed = True
            self._wake.set()

    return SyncBody


AsyncBody2 = _async_body(httpx2.AsyncByteStream)
SyncBody2 = _sync_body(httpx2.SyncByteStream)
AsyncBody1 = _async_body(httpx.AsyncByteStream)
SyncBody1 = _sync_body(httpx.SyncByteStream)


# -- servers ---------------------------------------------------------------------------------


class MockServer:
    """Answers every request with the next scripted body; keeps requests, responses and bodies."""

    def __init__(self, module: Any, content_type: str) -> None:
        self._module = module
        self._content_type = content_type
        self._script: list[tuple[list[bytes], int | None]] = []
        self.requests: list[Any] = []
        self.responses: list[Any] = []
        self.bodies: list[Any] = []
        self.sync = False

    def script(self, chunks: Sequence[bytes], *, stall_after: int | None = None, times: int = 1) -> None:
        for _ in range(times):
            self._script.append((list(chunks), stall_after))

    def handle(self, request: Any) -> Any:
        self.requests.append(request)
        chunks, stall_after = self._script.pop(0)
        if self._module is httpx2:
            body = (SyncBody2 if self.sync else AsyncBody2)(chunks, stall_after)
        else:
            body = (SyncBody1 if self.sync else AsyncBody1)(chunks, stall_after)
        response = self._module.Response(200, headers={"content-type": self._content_type}, stream=body)
        self.bodies.append(body)
        self.responses.append(response)
        return response

    @property
    def body(self) -> Any:
        return self.bodies[-1]

    @property
    def response(self) -> Any:
        return self.responses[-1]

    def request_json(self, i: int = -1) -> Any:
        return json.loads(self.requests[i].content)


def openai_client(server: MockServer, *, sync: bool = False) -> Any:
    import openai

    server.sync = sync
    transport = httpx2.MockTransport(server.handle)
    options: dict[str, Any] = {"api_key": "sk-test", "base_url": "http://api.test/v1", "max_retries": 0}
    if sync:
        return openai.OpenAI(http_client=httpx2.Client(transport=transport), **options)
    return openai.AsyncOpenAI(http_client=httpx2.AsyncClient(transport=transport), **options)


def anthropic_client(server: MockServer, *, sync: bool = False) -> Any:
    import anthropic

    server.sync = sync
    transport = httpx2.MockTransport(server.handle)
    options: dict[str, Any] = {"api_key": "sk-ant-test", "base_url": "http://api.test", "max_retries": 0}
    if sync:
        return anthropic.Anthropic(http_client=httpx2.Client(transport=transport), **options)
    return anthropic.AsyncAnthropic(http_client=httpx2.AsyncClient(transport=transport), **options)


def ollama_client(server: MockServer, *, sync: bool = False) -> Any:
    import ollama

    server.sync = sync
    transport = httpx.MockTransport(server.handle)
    if sync:
        return ollama.Client(host="http://ollama.test:11434", transport=transport)
    return ollama.AsyncClient(host="http://ollama.test:11434", transport=transport)


# -- real payloads ---------------------------------------------------------------------------
# Shapes as the services send them (fields, nulls and order copied from their streaming docs
# and from recorded responses).

UNICODE_PIECES = ["Hé", "llo", " wörld", " — 日本", "語 🎉", "!"]
UNICODE_TEXT = "".join(UNICODE_PIECES)


def openai_chat_chunk(delta: dict[str, Any], *, finish_reason: str | None = None) -> dict[str, Any]:
    return {
        "id": "chatcmpl-BV2tq8Yf0vxoNmk3KPZ8ezs8Bd1Wj",
        "object": "chat.completion.chunk",
        "created": 1746716066,
        "model": "gpt-4o-mini-2024-07-18",
        "service_tier": "default",
        "system_fingerprint": "fp_0392822090",
        "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish_reason}],
        "usage": None,
    }


def openai_usage_chunk(prompt: int, completion: int, cached: int = 0) -> dict[str, Any]:
    chunk = openai_chat_chunk({})
    chunk["choices"] = []
    chunk["usage"] = {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
        "prompt_tokens_details": {"cached_tokens": cached, "audio_tokens": 0},
        "completion_tokens_details": {
            "reasoning_tokens": 0,
            "audio_tokens": 0,
            "accepted_prediction_tokens": 0,
            "rejected_prediction_tokens": 0,
        },
    }
    return chunk


def openai_chat_text(pieces: Sequence[str] = UNICODE_PIECES, *, finish_reason: str = "stop") -> list[Any]:
    chunks: list[Any] = [openai_chat_chunk({"role": "assistant", "content": "", "refusal": None})]
    chunks += [openai_chat_chunk({"content": piece}) for piece in pieces]
    chunks.append(openai_chat_chunk({}, finish_reason=finish_reason))
    chunks.append(openai_usage_chunk(19, 10, cached=4))
    return [(None, chunk) for chunk in chunks] + [(None, "[DONE]")]


def openai_chat_tools() -> list[Any]:
    """Two parallel tool calls, arguments split mid-token as the API does."""

    def call(index: int, **fields: Any) -> dict[str, Any]:
        return openai_chat_chunk({"tool_calls": [{"index": index, **fields}]})

    chunks = [
        openai_chat_chunk(
            {
                "role": "assistant",
                "content": None,
                "tool_calls": [
                    {
                        "index": 0,
                        "id": "call_DdmO9pD3xa9XTPNJ32zg2hcA",
                        "type": "function",
                        "function": {"name": "get_weather", "arguments": ""},
                    }
                ],
                "refusal": None,
            }
        ),
        call(0, function={"arguments": '{"lo'}),
        call(0, function={"arguments": 'cation": "Zür'}),
        call(0, function={"arguments": 'ich"}'}),
        call(1, id="call_4Xk0oRcVBJq1SIvwHcKpZz3Y", type="function", function={"name": "get_time", "arguments": ""}),
        call(1, function={"arguments": '{"tz": "Europe/Zurich"}'}),
        openai_chat_chunk({}, finish_reason="tool_calls"),
        openai_usage_chunk(80, 41),
    ]
    return [(None, chunk) for chunk in chunks] + [(None, "[DONE]")]


def responses_events(pieces: Sequence[str] = UNICODE_PIECES, *, with_tool: bool = True) -> list[Any]:
    """A Responses API stream: text, then a function call, then response.completed."""
    response = {
        "id": "resp_67ccd2bed1ec8190b14f964abc0542670bb6a6b452d3795b",
        "object": "response",
        "created_at": 1741476542,
        "status": "in_progress",
        "error": None,
        "incomplete_details": None,
        "instructions": None,
        "max_output_tokens": None,
        "model": "gpt-4.1-2025-04-14",
        "output": [],
        "parallel_tool_calls": True,
        "previous_response_id": None,
        "reasoning": {"effort": None, "summary": None},
        "store": True,
        "temperature": 1.0,
        "text": {"format": {"type": "text"}},
        "tool_choice": "auto",
        "tools": [],
        "top_p": 1.0,
        "truncation": "disabled",
        "usage": None,
        "user": None,
        "metadata": {},
    }
    msg_id = "msg_67ccd2bf17f0819081ff3bb2cf6508e60bb6a6b452d3795b"
    seq = iter(range(1000))
    events: list[Any] = []

    def add(kind: str, **fields: Any) -> None:
        events.append((kind, {"type": kind, "sequence_number": next(seq), **fields}))

    add("response.created", response=response)
    add("response.in_progress", response=response)
    message = {"id": msg_id, "type": "message", "status": "in_progress", "role": "assistant", "content": []}
    add("response.output_item.added", output_index=0, item=message)
    part = {"type": "output_text", "text": "", "annotations": []}
    add("response.content_part.added", item_id=msg_id, output_index=0, content_index=0, part=part)
    for piece in pieces:
        add("response.output_text.delta", item_id=msg_id, output_index=0, content_index=0, delta=piece, logprobs=[])
    text = "".join(pieces)
    add("response.output_text.done", item_id=msg_id, output_index=0, content_index=0, text=text, logprobs=[])
    done_part = {"type": "output_text", "text": text, "annotations": []}
    add("response.content_part.done", item_id=msg_id, output_index=0, content_index=0, part=done_part)
    done_message = dict(message, status="completed", content=[done_part])
    add("response.output_item.done", output_index=0, item=done_message)
    output: list[Any] = [done_message]
    if with_tool:
        fc_id = "fc_67ccd2c0b2a48190a8e3a49a7e1e8b8f0bb6a6b452d3795b"
        call = {
            "id": fc_id,
            "type": "function_call",
            "status": "in_progress",
            "arguments": "",
            "call_id": "call_zXK5vPzjXWhsCDUFWDHbDBUY",
            "name": "get_weather",
        }
        add("response.output_item.added", output_index=1, item=call)
        arguments = '{"location": "Zürich, Schweiz"}'
        for fragment in ('{"loc', 'ation": "Zü', 'rich, Schweiz"}'):
            add("response.function_call_arguments.delta", item_id=fc_id, output_index=1, delta=fragment)
        add("response.function_call_arguments.done", item_id=fc_id, output_index=1, arguments=arguments)
        done_call = dict(call, status="completed", arguments=arguments)
        add("response.output_item.done", output_index=1, item=done_call)
        output.append(done_call)
    usage = {
        "input_tokens": 37,
        "input_tokens_details": {"cached_tokens": 5},
        "output_tokens": 11,
        "output_tokens_details": {"reasoning_tokens": 0},
        "total_tokens": 48,
    }
    add("response.completed", response=dict(response, status="completed", output=output, usage=usage))
    return events


def anthropic_events(
    pieces: Sequence[str] = UNICODE_PIECES, *, with_tool: bool = True, thinking: Sequence[str] = ()
) -> list[Any]:
    """A Messages API stream: optional thinking, text, a tool_use block, message_delta, message_stop."""
    events: list[Any] = []

    def add(kind: str, **fields: Any) -> None:
        events.append((kind, {"type": kind, **fields}))

    add(
        "message_start",
        message={
            "id": "msg_01XFDUDYJgAACzvnptvVoYEL",
            "type": "message",
            "role": "assistant",
            "content": [],
            "model": "claude-sonnet-4-6",
            "stop_reason": None,
            "stop_sequence": None,
            "usage": {
                "input_tokens": 472,
                "cache_creation_input_tokens": 0,
                "cache_read_input_tokens": 100,
                "output_tokens": 2,
            },
        },
    )
    index = 0
    if thinking:
        add("content_block_start", index=index, content_block={"type": "thinking", "thinking": "", "signature": ""})
        for piece in thinking:
            add("content_block_delta", index=index, delta={"type": "thinking_delta", "thinking": piece})
        add("content_block_delta", index=index, delta={"type": "signature_delta", "signature": "EqQBCgIYAhIM1gbcDa9G"})
        add("content_block_stop", index=index)
        index += 1
    add("content_block_start", index=index, content_block={"type": "text", "text": ""})
    events.append(("ping", {"type": "ping"}))
    for piece in pieces:
        add("content_block_delta", index=index, delta={"type": "text_delta", "text": piece})
    add("content_block_stop", index=index)
    if with_tool:
        index += 1
        block = {"type": "tool_use", "id": "toolu_01T1x1fJ34qAmk2tNTrN7Up6", "name": "get_weather", "input": {}}
        add("content_block_start", index=index, content_block=block)
        for fragment in ("", '{"location":', ' "San Fra', 'ncisco, CA", "unit": "°F"}'):
            add("content_block_delta", index=index, delta={"type": "input_json_delta", "partial_json": fragment})
        add("content_block_stop", index=index)
    stop = "tool_use" if with_tool else "end_turn"
    add("message_delta", delta={"stop_reason": stop, "stop_sequence": None}, usage={"output_tokens": 89})
    add("message_stop")
    return events


def ollama_parts(pieces: Sequence[str] = UNICODE_PIECES, *, tool: bool = False) -> list[dict[str, Any]]:
    """Ollama /api/chat NDJSON parts, the last with done: true and the counts."""
    base: dict[str, Any] = {"model": "llama3.2", "created_at": "2025-05-08T14:21:06.171582Z"}
    parts: list[dict[str, Any]] = [
        dict(base, message={"role": "assistant", "content": piece}, done=False) for piece in pieces
    ]
    if tool:
        call = {"function": {"name": "get_weather", "arguments": {"city": "Zürich"}}}
        parts.append(dict(base, message={"role": "assistant", "content": "", "tool_calls": [call]}, done=False))
    parts.append(
        dict(
            base,
            message={"role": "assistant", "content": ""},
            done=True,
            done_reason="stop",
            total_duration=4883583458,
            load_duration=1334875,
            prompt_eval_count=26,
            prompt_eval_duration=342546000,
            eval_count=282,
            eval_duration=4535599000,
        )
    )
    return parts
