"""LLM streams in: provider SDK streams turned into one small set of typed events.

Every adapter returns a :class:`streamkit.Stream` of :data:`LLMEvent`::

    TextDelta(text)                     a piece of the answer
    ReasoningDelta(text)                a piece of the model's reasoning ("thinking")
    ToolCallDelta(index, id, name, arguments_delta)   a tool call's arguments, as they stream
    ToolCall(index, id, name, arguments)              the same call, complete (.json() parses it)
    Error(message, code)                a failure the provider reported inside the stream
    Usage(input_tokens, output_tokens, total_tokens, cached_input_tokens)   once, near the end
    Finish(reason, raw)                 last, once: stop | length | tool_calls | content_filter | error | other

>>> from streamkit.llm import from_openai, text                      # doctest: +SKIP
>>> events = from_openai(client.chat.completions.create(model=..., messages=..., stream=True))
>>> async for piece in events | text():
...     print(piece, end="")

Ending the run (the consumer stops, the client disconnects) closes the SDK stream and its
HTTP response at once. The SDKs are optional: each adapter imports its own when called.

Out, for the clients people already use: :func:`openai_sse` (an OpenAI-compatible
``chat.completion.chunk`` event stream) and :func:`ai_sdk_sse` (the Vercel AI SDK UI message
stream, for ``useChat``)::

    app = asgi(from_anthropic(stream) | openai_sse(model="claude-via-streamkit"), heartbeat=15)
"""

from streamkit.llm._ai_sdk import ai_sdk_sse
from streamkit.llm._anthropic import from_anthropic
from streamkit.llm._events import (
    Error,
    Finish,
    FinishReason,
    IncompleteStreamError,
    LLMError,
    LLMEvent,
    ReasoningDelta,
    TextDelta,
    ToolCall,
    ToolCallDelta,
    Usage,
)
from streamkit.llm._langchain import from_langchain
from streamkit.llm._ollama import from_ollama
from streamkit.llm._openai import from_openai
from streamkit.llm._openai_out import openai_sse
from streamkit.llm._steps import text, tool_calls

__all__ = [
    # adapters
    "from_openai",
    "from_anthropic",
    "from_ollama",
    "from_langchain",
    # steps
    "text",
    "tool_calls",
    # out: framing for the clients people use
    "openai_sse",
    "ai_sdk_sse",
    # events
    "LLMEvent",
    "TextDelta",
    "ReasoningDelta",
    "ToolCallDelta",
    "ToolCall",
    "Usage",
    "Finish",
    "FinishReason",
    "Error",
    # errors
    "LLMError",
    "IncompleteStreamError",
]
