"""The ASGI recipes of docs/recipes.md, served by uvicorn on 127.0.0.1 and read over a socket.

For each framework and each way of serving (mounted, or returned from a route): the stream's
body and protocol headers arrive intact, ``Last-Event-ID`` reaches the source, the framework's
own routes still answer, and a client that leaves closes the source while it is idle.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import anyio
import pytest

from tests import httpclient as http
from tests.frameworks.recipes import Paths, Resumed, Rooms, expected_body, load_recipe
from tests.servers import uvicorn_server, wait_for


@dataclass(frozen=True)
class Case:
    recipe: str
    package: str
    way: str
    path: str
    room: str
    home: bytes
    factory_path: str = ""
    """``request.path`` as a mounted stream factory sees it (the framework decides)."""
    app: str = "app"
    lifespan: str = "off"

    def __str__(self) -> str:
        return f"{self.recipe}-{self.way}"


MOUNT = "/events/?room=r1"

CASES = [
    Case("starlette", "starlette", "mount", MOUNT, "r1", b"home", "/events/"),
    Case("starlette", "starlette", "route", "/rooms/r2/events", "r2", b"home"),
    Case("fastapi", "fastapi", "mount", MOUNT, "r1", b'{"hello":"world"}', "/events/"),
    Case("fastapi", "fastapi", "route", "/rooms/r2/events", "r2", b'{"hello":"world"}'),
    Case("litestar", "litestar", "mount", MOUNT, "r1", b"home", "/"),
    Case("litestar", "litestar", "route", "/rooms/r2/events", "r2", b"home"),
    Case("quart", "quart", "mount", MOUNT, "r1", b"home", "/events/", lifespan="on"),
    # Django does not speak the ASGI lifespan protocol: the recipe says to serve it without.
    Case("django-asgi", "django", "mount", MOUNT, "r1", b"home", "/events/", app="application"),
]


@pytest.fixture(params=CASES, ids=str)
def case(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Case:
    chosen: Case = request.param
    pytest.importorskip(chosen.package)
    if chosen.package == "django":
        monkeypatch.setenv("DJANGO_SETTINGS_MODULE", "tests.frameworks.django_settings")
    return chosen


async def test_recipe_streams_events_with_protocol_headers_and_resumes(case: Case) -> None:
    rooms = Rooms(count=3, then="end")
    paths = Paths()
    with load_recipe(case.recipe, wrap={"events": paths}, ticks=rooms) as recipe:
        rooms.use_framing_of(recipe)
        with uvicorn_server(getattr(recipe, case.app), lifespan=case.lifespan) as url:
            resumed = await Resumed.fetch(url, case.path)
    resumed.check(case, rooms, paths, home=case.home)


async def test_client_leaving_closes_the_idle_source(case: Case) -> None:
    rooms = Rooms(count=3, then="idle")
    with load_recipe(case.recipe, ticks=rooms) as recipe:
        rooms.use_framing_of(recipe)
        with uvicorn_server(getattr(recipe, case.app), lifespan=case.lifespan) as url:
            async with http.stream("GET", url + case.path) as response:
                received = await response.read_until(b"\n\n", 3)
            left = time.monotonic()
            # The source is waiting an hour for its next event: only the disconnect can end it.
            latency = await anyio.to_thread.run_sync(lambda: wait_for(rooms.all_closed))
    assert received == expected_body(case.room, after=0, count=3)
    print(f"{case}: source closed {latency * 1000:.1f} ms after the client left")
    assert time.monotonic() - left < 5
