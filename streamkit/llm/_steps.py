"""Steps over LLM events: :func:`text` and :func:`tool_calls`."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from streamkit._core.closing import describe
from streamkit._core.fusion import SKIP, Kind, Stage
from streamkit._core.stream import Step, sync_stage
from streamkit.llm._events import EVENT_TYPES, Error, LLMError, LLMEvent, TextDelta, ToolCall

_EVENTS = frozenset(EVENT_TYPES)


def _not_an_event(step: str, item: object) -> TypeError:
    return TypeError(f"{step}() takes the events of an LLM adapter (from_openai(...), ...), got {describe(item)}")


def text() -> Step[LLMEvent | str, str]:
    """The answer's text, as the string pieces the model streams.

    Keeps :class:`TextDelta` texts (and plain strings), drops the other events, and raises
    :class:`LLMError` at an :class:`Error` event, so a failure never looks like a short answer.

    >>> await (from_openai(stream) | text()).list()                  # doctest: +SKIP
    ['Hel', 'lo', '!']
    """

    def make() -> Callable[[Any], Any]:
        def to_text(item: Any) -> Any:
            kind = item.__class__
            if kind is TextDelta:
                return item.text or SKIP
            if kind is str:
                return item or SKIP
            if kind is Error:
                raise LLMError(item.message, item.code)
            if kind in _EVENTS:
                return SKIP
            raise _not_an_event("text", item)

        return to_text

    return sync_stage(Stage(Kind.GENERIC, make))


def tool_calls() -> Step[LLMEvent, ToolCall]:
    """Only the complete :class:`ToolCall` events, each once its arguments have all arrived.

    >>> async for call in from_anthropic(stream) | tool_calls():     # doctest: +SKIP
    ...     result = run_tool(call.name, **call.json())
    """

    def make() -> Callable[[Any], Any]:
        def complete_calls(item: Any) -> Any:
            kind = item.__class__
            if kind is ToolCall:
                return item
            if kind in _EVENTS:
                return SKIP
            raise _not_an_event("tool_calls", item)

        return complete_calls

    return sync_stage(Stage(Kind.GENERIC, make))
