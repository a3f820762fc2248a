"""Proxy another service's SSE stream: parse it, transform each event, re-frame it.

    python examples/proxy_sse.py        # then: curl -N http://127.0.0.1:8000/

``main()`` starts its own upstream (a stream of JSON prices) on port 8001, so the example runs
with no other service; point ``UPSTREAM_URL`` at a real one instead. Closing the client's
connection closes the upstream request.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import AsyncIterator
from typing import Any

import httpx

import streamkit as sk

UPSTREAM_PORT = 8001


def prices() -> sk.Stream[bytes]:
    """The upstream: ten JSON price events."""
    return sk.iterate(range(10)) | sk.spaceout(0.1) | sk.map(lambda n: {"symbol": "XYZ", "cents": 1000 + n}) | sk.to_sse(ids=True)


upstream = sk.asgi(prices(), heartbeat=15)  # a stream: every request gets a fresh run


def upstream_events(url: str) -> sk.Stream[bytes]:
    """The upstream response's bytes, as they arrive; the request closes with the run."""

    async def run() -> AsyncIterator[bytes]:
        async with httpx.AsyncClient(timeout=httpx.Timeout(10.0, read=None)) as client:
            async with client.stream("GET", url, headers={"Accept": "text/event-stream"}) as response:
                response.raise_for_status()
                async for chunk in response.aiter_raw():
                    yield chunk

    return sk.Stream(run)


def in_dollars(event: sk.ServerSentEvent) -> sk.ServerSentEvent:
    price = json.loads(event.data)
    return sk.ServerSentEvent(json.dumps({"symbol": price["symbol"], "dollars": price["cents"] / 100}), id=event.id)


def make_app(upstream_url: str) -> Any:
    return sk.asgi(lambda request: upstream_events(upstream_url) | sk.parse_sse() | sk.map(in_dollars) | sk.to_sse(), heartbeat=15)


app = make_app(os.environ.get("UPSTREAM_URL", f"http://127.0.0.1:{UPSTREAM_PORT}/"))


def main() -> None:
    if "UPSTREAM_URL" not in os.environ:
        threading.Thread(target=sk.serve, args=(upstream,), kwargs={"port": UPSTREAM_PORT}, daemon=True).start()
    sk.serve(app, port=int(os.environ.get("PORT", "8000")))


if __name__ == "__main__":
    main()
