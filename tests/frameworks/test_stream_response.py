"""sk.StreamResponse: a Starlette Response that streams through streamkit.asgi.

The recipes test it in plain routes; here the parts a FastAPI application leans on: background
tasks, status and headers changed after the route returned, ``@app.middleware("http")``, and
bad options rejected in the route rather than after the response was handed over.
"""

from __future__ import annotations

import subprocess
import sys
import threading
from collections.abc import AsyncIterator

import anyio
import pytest

import streamkit as sk
from tests import httpclient as http
from tests.frameworks.recipes import recipe_blocks
from tests.servers import uvicorn_server, wait_for
from tests.sinks.helpers import SSE

pytest.importorskip("fastapi")

from fastapi import BackgroundTasks, FastAPI, Request  # noqa: E402

from streamkit._sinks.starlette import StreamResponse  # noqa: E402


class Source:
    """Three events, then waits for a fourth for an hour; notes when its ``finally`` ran."""

    def __init__(self) -> None:
        self.closed = threading.Event()
        self.order: list[str] = []

    def stream(self) -> sk.Stream[bytes]:
        async def run() -> AsyncIterator[bytes]:
            try:
                for n in range(1, 4):
                    yield f"id: {n}\ndata: {n}\n\n".encode()
                await anyio.sleep(3600)
            finally:
                self.order.append("source closed")
                self.closed.set()

        return sk.Stream(run, framing=SSE)


def application(source: Source) -> FastAPI:
    app = FastAPI()

    @app.middleware("http")
    async def stamp(request: Request, call_next):  # type: ignore[no-untyped-def]
        response = await call_next(request)
        response.headers["x-stamped"] = "yes"
        return response

    @app.get("/events")
    async def events(tasks: BackgroundTasks) -> StreamResponse:
        tasks.add_task(source.order.append, "background task")
        response = StreamResponse(source.stream(), heartbeat=0.05, headers={"x-room": "lobby"})
        response.status_code = 203  # changed after construction: still honoured
        response.headers["x-late"] = "1"
        return response

    return app


async def test_fastapi_route_with_middleware_background_task_and_late_headers() -> None:
    source = Source()
    with uvicorn_server(application(source)) as url:
        async with http.stream("GET", url + "/events") as response:
            body = await response.read_until(b":\n")  # the three events and one keep-alive
        await anyio.to_thread.run_sync(lambda: wait_for(lambda: len(source.order) == 2))
    assert response.status == 203
    assert response.headers["content-type"] == "text/event-stream; charset=utf-8"
    assert response.headers["cache-control"] == "no-cache"
    assert (response.headers["x-room"], response.headers["x-late"], response.headers["x-stamped"]) == ("lobby", "1", "yes")
    assert body.startswith(b"id: 1\ndata: 1\n\nid: 2\ndata: 2\n\nid: 3\ndata: 3\n\n:\n")
    # The client left while the source was idle: closed, then FastAPI's background task ran.
    assert source.order == ["source closed", "background task"]


async def test_media_type_overrides_the_framing() -> None:
    app = FastAPI()

    @app.get("/")
    async def plain() -> StreamResponse:
        return StreamResponse(sk.iterate([b"a\n", b"b\n"]), media_type="text/plain; charset=utf-8")

    with uvicorn_server(app) as url:
        async with http.stream("GET", url + "/") as response:
            body = await response.read_all()
    assert response.headers["content-type"] == "text/plain; charset=utf-8"
    assert "cache-control" not in response.headers
    assert body == b"a\nb\n"


def test_bad_options_fail_in_the_route() -> None:
    with pytest.raises(ValueError, match="heartbeat"):
        StreamResponse(sk.iterate([b"x"]), heartbeat=-1)
    with pytest.raises(TypeError, match="StreamResponse"):
        StreamResponse(42)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="status"):
        StreamResponse(sk.iterate([b"x"]), status_code=42)


def test_is_a_starlette_response_so_fastapi_sends_it_as_is() -> None:
    from starlette.responses import Response as StarletteResponse

    assert issubclass(StreamResponse, StarletteResponse)
    app = FastAPI()

    @app.get("/")  # a return annotation FastAPI would otherwise turn into a response model
    async def route() -> StreamResponse:
        return StreamResponse(sk.iterate([b"x"]))

    assert app.routes[-1].response_model is None  # type: ignore[attr-defined]


def test_without_starlette_the_error_names_the_extra() -> None:
    code = (
        "import sys; sys.modules['starlette'] = None\n"
        "try:\n"
        "    import streamkit._sinks.starlette\n"
        "except ImportError as error:\n"
        "    print(error)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    assert "pip install 'streamkit[starlette]'" in result.stdout, result.stdout + result.stderr


def test_every_recipe_in_the_docs_is_tested() -> None:
    # Each recipe block is served by test_asgi_recipes.py or test_wsgi_recipes.py.
    from tests.frameworks import test_asgi_recipes, test_wsgi_recipes

    tested = {case.recipe for case in test_asgi_recipes.CASES} | {case.recipe for case in test_wsgi_recipes.CASES}
    assert set(recipe_blocks()) == tested | {"events"}
