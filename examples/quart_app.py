"""Quart: ASGI middleware in front of app.asgi_app sends /events/ to streamkit.

    python examples/quart_app.py        # then: curl -N http://127.0.0.1:8000/events/?start=5
"""

from __future__ import annotations

import os
from typing import Any

from quart import Quart

import streamkit as sk

app = Quart(__name__)


@app.get("/")
async def home() -> str:
    return "curl -N http://127.0.0.1:8000/events/?start=5"


def events(request: sk.Request) -> sk.Stream[bytes]:
    start = int(request.query.get("start", "5"))
    return sk.iterate(range(start, 0, -1)) | sk.spaceout(0.1) | sk.map(str) | sk.to_sse(ids=True, done="liftoff")


streams = sk.asgi(events, heartbeat=15)
quart_app = app.asgi_app


async def with_streams(scope: Any, receive: Any, send: Any) -> None:
    if scope["type"] == "http" and scope["path"].startswith("/events/"):
        await streams(scope, receive, send)
    else:
        await quart_app(scope, receive, send)


app.asgi_app = with_streams  # type: ignore[method-assign]


def main() -> None:
    sk.serve(app, port=int(os.environ.get("PORT", "8000")))


if __name__ == "__main__":
    main()
