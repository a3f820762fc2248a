"""Litestar: a route handler that returns an sk.asgi app, the way Litestar mounts ASGI apps.

    python examples/litestar_app.py     # then: curl -N http://127.0.0.1:8000/countdown/
"""

from __future__ import annotations

import os

from litestar import Litestar, asgi, get

import streamkit as sk


def countdown(start: int) -> sk.Stream[bytes]:
    return sk.iterate(range(start, 0, -1)) | sk.spaceout(0.1) | sk.map(str) | sk.to_sse(ids=True, done="liftoff")


def events(request: sk.Request) -> sk.Stream[bytes]:
    """GET /countdown/?start=5"""
    return countdown(int(request.query.get("start", "5")))


@get("/")
async def home() -> str:
    return "curl -N http://127.0.0.1:8000/countdown/?start=5"


countdown_app = asgi("/countdown", is_mount=True, copy_scope=True)(sk.asgi(events, heartbeat=15))
app = Litestar(route_handlers=[home, countdown_app])


def main() -> None:
    sk.serve(app, port=int(os.environ.get("PORT", "8000")))


if __name__ == "__main__":
    main()
