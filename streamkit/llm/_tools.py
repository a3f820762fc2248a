"""Reassembling tool calls from the argument fragments providers stream."""

from __future__ import annotations

from collections.abc import Hashable

from streamkit.llm._events import ToolCall, ToolCallDelta


class _Partial:
    __slots__ = ("index", "id", "name", "parts", "done")

    def __init__(self, index: int) -> None:
        self.index = index
        self.id: str | None = None
        self.name: str | None = None
        self.parts: list[str] = []
        self.done = False


class ToolCallAssembler:
    """Collects the fragments of each tool call of one response, keyed by the provider's own key.

    Providers key fragments differently (OpenAI chat: a tool-call index; Anthropic: the content
    block index; the Responses API: an item id); calls are numbered 0, 1, ... in order of
    first appearance whatever the key.

    >>> tools = ToolCallAssembler()
    >>> tools.fragment(7, id="call_1", name="f", arguments='{"a"')
    ToolCallDelta(index=0, id='call_1', name='f', arguments_delta='{"a"')
    >>> tools.fragment(7, arguments=": 1}")
    ToolCallDelta(index=0, id='call_1', name='f', arguments_delta=': 1}')
    >>> tools.complete_all()
    [ToolCall(index=0, id='call_1', name='f', arguments='{"a": 1}')]
    """

    __slots__ = ("_calls",)

    def __init__(self) -> None:
        self._calls: dict[Hashable, _Partial] = {}

    @property
    def seen_any(self) -> bool:
        """True once any tool call was started in this response."""
        return bool(self._calls)

    def has(self, key: Hashable) -> bool:
        """True if a call with this provider key was started."""
        return key in self._calls

    def fragment(
        self, key: Hashable, *, id: str | None = None, name: str | None = None, arguments: str = ""
    ) -> ToolCallDelta | None:
        """Record a fragment; return the delta event, or None when it adds nothing."""
        call = self._calls.get(key)
        new = call is None
        if call is None:
            call = self._calls[key] = _Partial(len(self._calls))
        elif call.done:
            raise ValueError(f"tool call {call.index} ({call.name!r}) received arguments after it was complete")
        # Some OpenAI-compatible servers repeat id and name on every fragment: keep the first,
        # never concatenate them.
        if id and call.id is None:
            call.id = id
        if name and call.name is None:
            call.name = name
        if arguments:
            call.parts.append(arguments)
        elif not new:
            return None
        return ToolCallDelta(call.index, call.id, call.name, arguments)

    def complete(self, key: Hashable, *, arguments: str | None = None) -> ToolCall | None:
        """The finished call for ``key`` (None if already emitted or unknown).

        ``arguments``, when the provider sends the whole text at the end, wins over the fragments.
        """
        call = self._calls.get(key)
        if call is None or call.done:
            return None
        return self._finish(call, arguments)

    def complete_all(self) -> list[ToolCall]:
        """Every call not yet emitted, in index order."""
        return [self._finish(call, None) for call in self._calls.values() if not call.done]

    @staticmethod
    def _finish(call: _Partial, arguments: str | None) -> ToolCall:
        call.done = True
        if not call.name:
            raise ValueError(f"tool call {call.index} (id {call.id!r}) ended without a tool name")
        return ToolCall(call.index, call.id, call.name, "".join(call.parts) if arguments is None else arguments)
