"""The stream every recipe in docs/recipes.md serves, on a virtual clock (it ticks once a second)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

import streamkit as sk
from streamkit.testing import virtual_backends
from tests.frameworks.recipes import load_recipe


@pytest.fixture(params=virtual_backends(), ids=lambda factory: factory()[0])
def anyio_backend(request: pytest.FixtureRequest) -> tuple[str, dict[str, Any]]:
    """Back to the suite's virtual clock: nothing here does real I/O."""
    factory: Callable[[], tuple[str, dict[str, Any]]] = request.param
    return factory()


async def test_the_factory_resumes_after_last_event_id_and_closes_its_source(capsys: pytest.CaptureFixture[str]) -> None:
    with load_recipe("events") as recipe:
        request = sk.Request("GET", "/events/", "room=r1", {"last-event-id": "41"})
        stream = recipe.events(request)
        assert stream.framing == recipe.SSE
        assert stream.framing.media_type == "text/event-stream; charset=utf-8"
        assert await (stream | sk.take(2)).list() == [b"id: 42\ndata: r1 42\n\n", b"id: 43\ndata: r1 43\n\n"]
    assert "r1: closed after event 43" in capsys.readouterr().out


@pytest.mark.parametrize("header", [None, "", "abc", "-3"])
async def test_a_missing_or_odd_last_event_id_starts_from_the_beginning(header: str | None) -> None:
    with load_recipe("events") as recipe:
        headers = {} if header is None else {"last-event-id": header}
        first = await recipe.events(sk.Request("GET", "/events/", "", headers)).first()
    assert first == b"id: 1\ndata: lobby 1\n\n"
