"""FastAPI: a route returning sk.StreamResponse, and a mounted sk.asgi app.

    python examples/fastapi_app.py      # then: curl -N http://127.0.0.1:8000/countdown/5
"""

from __future__ import annotations

import os

from fastapi import FastAPI

import streamkit as sk

app = FastAPI()


def countdown(start: int) -> sk.Stream[bytes]:
    """start, start-1, ..., 1, one a second-tenth, as SSE with ids."""
    return sk.iterate(range(start, 0, -1)) | sk.spaceout(0.1) | sk.map(str) | sk.to_sse(ids=True, done="liftoff")


@app.get("/countdown/{start}")
async def countdown_events(start: int) -> sk.StreamResponse:
    return sk.StreamResponse(countdown(start), heartbeat=15)


# A whole prefix served by one stream factory: GET /ticks/
app.mount("/ticks", sk.asgi(lambda request: countdown(3), heartbeat=15))


def main() -> None:
    sk.serve(app, port=int(os.environ.get("PORT", "8000")))


if __name__ == "__main__":
    main()
