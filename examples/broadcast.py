"""Broadcast: one publisher, many SSE subscribers, resume with Last-Event-ID, via MemoryBroker.

    python examples/broadcast.py
    curl -N http://127.0.0.1:8000/events                  # in two terminals
    curl -X POST 'http://127.0.0.1:8000/publish?text=hi'  # both see it

For several worker processes, use ``RedisBroker`` instead (``pip install 'streamkit[redis]'``).
"""

from __future__ import annotations

import json
import os
from typing import Any

import streamkit as sk
from streamkit.broker import START, MemoryBroker, Message

broker = MemoryBroker()
TOPIC = "chat"


def as_event(message: Message[Any]) -> sk.ServerSentEvent:
    return sk.ServerSentEvent(json.dumps(message.data), id=message.id)


def events(request: sk.Request) -> sk.Stream[bytes]:
    # A reconnecting browser sends Last-Event-ID: replay from there, then go on live.
    return broker.subscribe(TOPIC, after=request.last_event_id or START) | sk.map(as_event) | sk.to_sse()


subscriptions = sk.asgi(events, heartbeat=15)


async def app(scope: Any, receive: Any, send: Any) -> None:
    if scope["type"] == "http" and scope["path"] == "/publish":
        query = dict(part.split("=", 1) for part in scope["query_string"].decode().split("&") if "=" in part)
        event_id = await broker.publish(TOPIC, {"text": query.get("text", "")})
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/plain")]})
        await send({"type": "http.response.body", "body": event_id.encode() + b"\n"})
    else:
        await subscriptions(scope, receive, send)


def main() -> None:
    sk.serve(app, port=int(os.environ.get("PORT", "8000")))


if __name__ == "__main__":
    main()
