"""Starlette: a route returning sk.StreamResponse, and a mounted sk.asgi app.

    python examples/starlette_app.py    # then: curl -N http://127.0.0.1:8000/countdown/5
"""

from __future__ import annotations

import os

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.routing import Mount, Route

import streamkit as sk


def countdown(start: int) -> sk.Stream[bytes]:
    return sk.iterate(range(start, 0, -1)) | sk.spaceout(0.1) | sk.map(str) | sk.to_sse(ids=True, done="liftoff")


async def countdown_events(request: Request) -> sk.StreamResponse:
    return sk.StreamResponse(countdown(int(request.path_params["start"])), heartbeat=15)


app = Starlette(
    routes=[
        Route("/countdown/{start:int}", countdown_events),
        Mount("/ticks", app=sk.asgi(lambda request: countdown(3), heartbeat=15)),
    ]
)


def main() -> None:
    sk.serve(app, port=int(os.environ.get("PORT", "8000")))


if __name__ == "__main__":
    main()
