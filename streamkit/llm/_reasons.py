"""One finish-reason vocabulary for every provider."""

from __future__ import annotations

from streamkit.llm._events import Finish, FinishReason

# The providers' own words, lower-cased: OpenAI chat and Responses, Anthropic, Ollama, Gemini
# (through LangChain) and the OpenAI-compatible servers that borrow them.
_REASONS: dict[str, FinishReason] = {
    "stop": "stop",
    "end_turn": "stop",
    "stop_sequence": "stop",
    "eos": "stop",
    "completed": "stop",
    "length": "length",
    "max_tokens": "length",
    "max_output_tokens": "length",
    "model_context_window_exceeded": "length",
    "tool_calls": "tool_calls",
    "function_call": "tool_calls",
    "tool_use": "tool_calls",
    "content_filter": "content_filter",
    "refusal": "content_filter",
    "safety": "content_filter",
    "recitation": "content_filter",
    "error": "error",
    "failed": "error",
}


def finish(raw: str | None, *, tool_calls: bool) -> Finish:
    """The Finish event for the provider's reason ``raw``.

    Without a reason, a response that called tools finished for ``tool_calls``, else ``stop``;
    a plain ``stop`` after tool calls (Ollama says so) is ``tool_calls`` too, as OpenAI reports it.
    """
    if raw is None:
        return Finish("tool_calls" if tool_calls else "stop", None)
    reason = _REASONS.get(raw.lower(), "other")
    if reason == "stop" and tool_calls:
        reason = "tool_calls"
    return Finish(reason, raw)
