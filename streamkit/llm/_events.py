"""The typed events every LLM adapter produces, whatever the provider.

An adapter turns one model response into, in this order::

    (TextDelta | ReasoningDelta | ToolCallDelta | ToolCall | Error)*  Usage?  Finish

``Finish`` is always last and comes exactly once when the response completed; ``Usage`` comes
once, just before it, when the provider reported token counts. A stream that ends without
the provider's end marker raises :class:`IncompleteStreamError` instead of ending quietly,
so a cut connection never looks like a short answer.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Literal, TypeAlias

FinishReason: TypeAlias = Literal["stop", "length", "tool_calls", "content_filter", "error", "other"]
"""Why the model stopped, in one vocabulary for every provider (OpenAI's names).

``stop``: a natural end or a stop sequence; ``length``: the token limit; ``tool_calls``: the
model wants tools run; ``content_filter``: output withheld or refused by the provider;
``error``: the provider reported a failure; ``other``: anything else (the provider's own word
is in :attr:`Finish.raw`).
"""


@dataclass(frozen=True, slots=True)
class TextDelta:
    """A piece of the answer's visible text.

    >>> TextDelta("Hel")
    TextDelta(text='Hel')
    """

    text: str


@dataclass(frozen=True, slots=True)
class ReasoningDelta:
    """A piece of the model's reasoning ("thinking"), kept apart from the answer's text.

    >>> [e.text for e in events if isinstance(e, ReasoningDelta)]   # doctest: +SKIP
    ['Let me think', ' about it']
    """

    text: str


@dataclass(frozen=True, slots=True)
class ToolCallDelta:
    """A fragment of a tool call's JSON arguments, as the model streams them.

    ``index`` numbers the tool calls of one response from 0, whatever the provider counts.
    ``id`` and ``name`` are repeated on every fragment once known (providers send them only
    with the first one). The first fragment of a call may have empty ``arguments_delta``:
    it announces the call.

    >>> ToolCallDelta(index=0, id="call_1", name="weather", arguments_delta='{"city": ')   # doctest: +SKIP
    """

    index: int
    id: str | None
    name: str | None
    arguments_delta: str


@dataclass(frozen=True, slots=True)
class ToolCall:
    """A complete tool call, emitted once all its argument fragments have arrived.

    >>> call = ToolCall(index=0, id="call_1", name="get_weather", arguments='{"city": "Oslo"}')
    >>> call.json()
    {'city': 'Oslo'}
    """

    index: int
    id: str | None
    name: str
    arguments: str
    """The arguments as the model wrote them: a JSON text (possibly empty for no arguments)."""

    def json(self) -> Any:
        """The arguments parsed as JSON; empty arguments are ``{}``.

        Raises ``ValueError`` naming the tool when the model wrote invalid JSON.
        """
        if not self.arguments.strip():
            return {}
        try:
            return json.loads(self.arguments)
        except json.JSONDecodeError as error:
            raise ValueError(
                f"tool call {self.name!r} (id {self.id!r}) has arguments that are not valid JSON: {error}; "
                f"arguments were {self.arguments[:200]!r}"
            ) from None


@dataclass(frozen=True, slots=True)
class Usage:
    """Token counts for the whole response.

    ``input_tokens`` counts every prompt token, cached or not (as OpenAI counts them; for
    Anthropic that is ``input_tokens`` plus both cache counts). ``cached_input_tokens`` is the
    part read from the provider's prompt cache, when reported. A count the provider did not
    report is 0.

    >>> usage = (await (from_openai(call) | filter(lambda e: isinstance(e, Usage))).first())   # doctest: +SKIP
    >>> usage.total_tokens                        # doctest: +SKIP
    """

    input_tokens: int
    output_tokens: int
    total_tokens: int
    cached_input_tokens: int = 0


@dataclass(frozen=True, slots=True)
class Finish:
    """The response is complete: the last event of every adapter's stream.

    ``reason`` is normalised (:data:`FinishReason`); ``raw`` is the provider's own word
    (``"end_turn"``, ``"max_output_tokens"``, ...), or None when it sent none.

    >>> last = await from_openai(call).last()     # doctest: +SKIP
    >>> last.reason                               # doctest: +SKIP
    'stop'
    """

    reason: FinishReason
    raw: str | None = None


@dataclass(frozen=True, slots=True)
class Error:
    """A failure the provider reported inside the stream (e.g. a Responses API ``error`` event).

    Transport and HTTP errors are raised as the SDK raises them; this event carries what the
    provider sent as data, so a pipeline can forward it to its client. :func:`text` raises it
    as :class:`LLMError`.

    >>> async for event in from_openai(responses_stream):   # doctest: +SKIP
    ...     if isinstance(event, Error):
    ...         log.warning("the model failed: %s (%s)", event.message, event.code)
    """

    message: str
    code: str | None = None


LLMEvent: TypeAlias = TextDelta | ReasoningDelta | ToolCallDelta | ToolCall | Usage | Finish | Error
"""Any event an LLM adapter emits."""

EVENT_TYPES: tuple[type, ...] = (TextDelta, ReasoningDelta, ToolCallDelta, ToolCall, Usage, Finish, Error)


class LLMError(RuntimeError):
    """A model stream failed with an error the provider reported in the stream itself."""

    def __init__(self, message: str, code: str | None = None) -> None:
        super().__init__(message if code is None else f"{message} (code {code!r})")
        self.message = message
        self.code = code


class IncompleteStreamError(LLMError):
    """The provider's stream ended before its end marker: the answer was cut short."""
