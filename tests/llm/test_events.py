"""The event types, the text() and tool_calls() steps, and tool-call reassembly."""

from __future__ import annotations

import dataclasses

import pytest

import streamkit as sk
from streamkit.llm import (
    Error,
    Finish,
    LLMError,
    ReasoningDelta,
    TextDelta,
    ToolCall,
    ToolCallDelta,
    Usage,
    text,
    tool_calls,
)
from streamkit.llm._reasons import finish
from streamkit.llm._tools import ToolCallAssembler


def test_events_are_small_frozen_values() -> None:
    delta = TextDelta("hi")
    assert delta == TextDelta("hi") and hash(delta) == hash(TextDelta("hi"))
    with pytest.raises(dataclasses.FrozenInstanceError):
        delta.text = "changed"  # type: ignore[misc]
    assert not hasattr(delta, "__dict__")  # slots: no per-event dict


def test_tool_call_json() -> None:
    assert ToolCall(0, "c", "f", '{"a": [1, "ü"]}').json() == {"a": [1, "ü"]}
    assert ToolCall(0, "c", "f", "").json() == {}  # a tool without arguments
    with pytest.raises(ValueError, match="tool call 'f' \\(id 'c'\\) has arguments that are not valid JSON"):
        ToolCall(0, "c", "f", '{"a": ').json()


async def test_text_keeps_text_and_plain_strings_and_drops_the_rest() -> None:
    events = [
        ReasoningDelta("thinking"),
        TextDelta("Hel"),
        TextDelta(""),
        "lo",
        ToolCallDelta(0, "c", "f", "{}"),
        ToolCall(0, "c", "f", "{}"),
        Usage(1, 2, 3),
        Finish("stop"),
    ]
    assert await (sk.iterate(events) | text()).list() == ["Hel", "lo"]


async def test_text_raises_at_an_error_event() -> None:
    seen: list[str] = []
    with pytest.raises(LLMError, match="overloaded \\(code 'busy'\\)") as caught:
        async for piece in sk.iterate([TextDelta("a"), Error("overloaded", "busy"), TextDelta("b")]) | text():
            seen.append(piece)
    assert seen == ["a"]
    assert (caught.value.message, caught.value.code) == ("overloaded", "busy")


async def test_steps_refuse_items_that_are_not_events() -> None:
    with pytest.raises(TypeError, match="text\\(\\) takes the events of an LLM adapter"):
        await (sk.iterate([{"choices": []}]) | text()).list()
    with pytest.raises(TypeError, match="tool_calls\\(\\) takes the events of an LLM adapter"):
        await (sk.iterate(["a"]) | tool_calls()).list()


async def test_tool_calls_step() -> None:
    call = ToolCall(0, "c", "f", "{}")
    events = [TextDelta("a"), ToolCallDelta(0, "c", "f", "{}"), call, Finish("tool_calls")]
    assert await (sk.iterate(events) | tool_calls()).list() == [call]


def test_assembler_numbers_calls_and_keeps_the_first_id_and_name() -> None:
    tools = ToolCallAssembler()
    # Keys are the provider's (here an Anthropic block index); calls are numbered from 0.
    assert tools.fragment(3, id="a", name="get") == ToolCallDelta(0, "a", "get", "")
    # Some servers repeat id and name on every fragment: never concatenated.
    assert tools.fragment(3, id="a", name="get", arguments='{"x"') == ToolCallDelta(0, "a", "get", '{"x"')
    assert tools.fragment(3, arguments="") is None  # nothing new
    assert tools.fragment(5, id="b", name="put", arguments="{}") == ToolCallDelta(1, "b", "put", "{}")
    assert tools.complete(5) == ToolCall(1, "b", "put", "{}")
    assert tools.complete(5) is None  # emitted once
    tools.fragment(3, arguments=": 1}")
    assert tools.complete_all() == [ToolCall(0, "a", "get", '{"x": 1}')]
    with pytest.raises(ValueError, match="received arguments after it was complete"):
        tools.fragment(3, arguments="more")


def test_assembler_refuses_a_call_without_a_name() -> None:
    tools = ToolCallAssembler()
    tools.fragment(0, arguments="{}")
    with pytest.raises(ValueError, match="ended without a tool name"):
        tools.complete_all()


@pytest.mark.parametrize(
    ("raw", "tools", "reason"),
    [
        ("stop", False, "stop"),
        ("end_turn", False, "stop"),
        ("stop", True, "tool_calls"),  # Ollama says "stop" after tool calls
        ("max_tokens", False, "length"),
        ("max_output_tokens", False, "length"),
        ("tool_use", True, "tool_calls"),
        ("content_filter", False, "content_filter"),
        ("refusal", False, "content_filter"),
        ("SAFETY", False, "content_filter"),
        ("pause_turn", False, "other"),
        (None, False, "stop"),
        (None, True, "tool_calls"),
    ],
)
def test_finish_reasons(raw: str | None, tools: bool, reason: str) -> None:
    assert finish(raw, tool_calls=tools) == Finish(reason, raw)  # type: ignore[arg-type]


def test_public_names() -> None:
    import doctest
    import types

    from streamkit import llm
    from streamkit.llm import _events, _tools

    public = {name for name in dir(llm) if not name.startswith("_")}
    submodules = {name for name in public if isinstance(getattr(llm, name), types.ModuleType)}
    assert public - submodules == set(llm.__all__)
    # The docstring examples of the event and tool modules are real.
    for module in (_events, _tools):
        assert doctest.testmod(module).failed == 0
