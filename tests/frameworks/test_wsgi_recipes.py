"""The WSGI recipes of docs/recipes.md (Flask, Django), served by waitress and by werkzeug on
127.0.0.1 and read over a socket.

A WSGI server learns that a client left only when a write fails, so the disconnect test's
source keeps producing (an event every 10 ms); the recipes' ``heartbeat=`` covers idle streams.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import anyio
import pytest

from tests import httpclient as http
from tests.frameworks.recipes import Paths, Resumed, Rooms, expected_body, load_recipe
from tests.servers import wait_for, wsgi_server


@dataclass(frozen=True)
class Case:
    recipe: str
    package: str
    way: str
    path: str
    room: str
    factory_path: str = ""
    """``request.path`` as a mounted stream factory sees it (the framework decides)."""
    app: str = "app"

    def __str__(self) -> str:
        return f"{self.recipe}-{self.way}"


CASES = [
    Case("flask", "flask", "mount", "/events/?room=r1", "r1", "/"),
    # A view returning sk.wsgi(...): Flask calls it and streams its body.
    Case("flask", "flask", "route", "/rooms/r2/events", "r2"),
    Case("django-wsgi", "django", "mount", "/events/?room=r1", "r1", "/events/", app="application"),
]


@pytest.fixture(params=CASES, ids=str)
def case(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Case:
    chosen: Case = request.param
    pytest.importorskip(chosen.package)
    if chosen.package == "django":
        monkeypatch.setenv("DJANGO_SETTINGS_MODULE", "tests.frameworks.django_settings")
    return chosen


@pytest.fixture(params=["waitress", "werkzeug"])
def server_kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


async def test_recipe_streams_events_with_protocol_headers_and_resumes(case: Case, server_kind: str) -> None:
    rooms = Rooms(count=3, then="end")
    paths = Paths()
    with load_recipe(case.recipe, wrap={"events": paths}, ticks=rooms) as recipe:
        rooms.use_framing_of(recipe)
        with wsgi_server(getattr(recipe, case.app), server_kind) as url:
            resumed = await Resumed.fetch(url, case.path)
    resumed.check(case, rooms, paths, home=b"home")


async def test_client_leaving_closes_the_source(case: Case, server_kind: str) -> None:
    rooms = Rooms(count=3, then="busy")
    with load_recipe(case.recipe, ticks=rooms) as recipe:
        rooms.use_framing_of(recipe)
        with wsgi_server(getattr(recipe, case.app), server_kind) as url:
            async with http.stream("GET", url + case.path) as response:
                # The source never ends: these events can only come from a streamed body.
                received = await response.read_until(b"\n\n", 3)
            left = time.monotonic()
            latency = await anyio.to_thread.run_sync(lambda: wait_for(rooms.all_closed))
    assert received.startswith(expected_body(case.room, after=0, count=3))
    print(f"{case} on {server_kind}: source closed {latency * 1000:.1f} ms after the client left")
    assert time.monotonic() - left < 5
