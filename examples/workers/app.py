"""Several uvicorn workers, one Redis: answers that outlive their request and resume on any worker.

    uvicorn examples.workers.app:app --workers 4          # Redis at 127.0.0.1:6379

    curl -s -X POST localhost:8000/answers -d '{"prompt": "hi"}'     # {"topic": "answer:3f2c..."}
    curl -N localhost:8000/answers/answer:3f2c...                    # the events, live
    curl -N localhost:8000/answers/answer:3f2c... -H 'Last-Event-ID: 1700000000000-4'   # the rest

``POST /answers`` starts a (fake, LLM-shaped) generation on whichever worker gets the request;
it publishes to a Redis stream and goes on for ``keep_alive`` seconds after its client leaves.
``GET /answers/{topic}`` streams the topic as Server-Sent Events whose ``id:`` is the Redis
stream id, so a browser's ``EventSource`` that reconnects - to any worker - sends
``Last-Event-ID`` and gets exactly the events after it. A resume that cannot be complete
(the events are no longer retained, or the id is not one of the topic's) answers ``410 Gone``
with the reason, which also stops ``EventSource`` from retrying; it never silently skips.

Settings (environment): ``REDIS_URL`` (``redis://127.0.0.1:6379/0``), ``BROKER_PREFIX``
(``answers:``: the Redis key namespace), ``BROKER_MAX_LEN`` (``1000``: events kept per
topic), ``KEEP_ALIVE`` (``30``: seconds a generation goes on with nobody reading),
``HEARTBEAT`` (``15``: seconds of silence before a keep-alive comment).
"""

from __future__ import annotations

import json
import os
import re
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import anyio
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

import streamkit as sk
from streamkit.broker import START, BrokerError, RedisBroker, SubscriberLagged

REDIS_URL = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
PREFIX = os.environ.get("BROKER_PREFIX", "answers:")
MAX_LEN = int(os.environ.get("BROKER_MAX_LEN", "1000"))
KEEP_ALIVE = float(os.environ.get("KEEP_ALIVE", "30"))
HEARTBEAT = float(os.environ.get("HEARTBEAT", "15"))

TOPIC = re.compile(r"answer:[0-9a-f]{32}")
MAX_TOKENS = 10_000
WORDS = "the quick brown fox jumps over the lazy dog while streams resume on any worker".split()


async def fake_llm(prompt: str, tokens: int, delay: float) -> AsyncIterator[dict[str, Any]]:
    """Stands in for an LLM SDK stream: ``tokens`` text deltas, ``delay`` seconds apart."""
    for index in range(tokens):
        await anyio.sleep(delay)
        yield {"index": index, "delta": WORDS[(index + len(prompt)) % len(WORDS)] + " "}


def error_event(error: BaseException) -> bytes:
    """The last event of a stream that fails after it started: ``event: error`` with the reason.

    A broker error's text is meant for the client (lagged, producer failed or cancelled);
    anything else is only named, its details stay in the server's log.
    """
    detail = str(error) if isinstance(error, BrokerError) else "internal error"
    payload = json.dumps({"error": type(error).__name__, "detail": detail})
    return sk.ServerSentEvent(payload, event="error").encode()


@asynccontextmanager
async def lifespan(app: Starlette) -> AsyncIterator[dict[str, Any]]:
    # One broker per worker process, created in the loop that uses it: redis-py's
    # connections belong to one event loop, and the broker runs this worker's producers.
    async with RedisBroker(REDIS_URL, prefix=PREFIX, max_len=MAX_LEN) as broker:
        yield {"broker": broker}


async def start_answer(request: Request) -> Response:
    """``POST /answers`` with ``{"prompt": ..., "tokens": 40, "delay": 0.05}``: start a generation."""
    try:
        body = json.loads(await request.body() or b"{}")
        prompt = str(body.get("prompt", ""))
        tokens = int(body.get("tokens", 40))
        delay = float(body.get("delay", 0.05))
    except (ValueError, TypeError, AttributeError) as error:
        return JSONResponse({"error": f"expected a JSON object with prompt, tokens, delay: {error}"}, status_code=400)
    if not (0 < tokens <= MAX_TOKENS and 0 <= delay <= 1):
        return JSONResponse({"error": f"tokens must be 1..{MAX_TOKENS} and delay 0..1 s"}, status_code=400)
    broker: RedisBroker = request.state.broker
    topic = f"answer:{uuid.uuid4().hex}"
    # Published here, before answering, so the topic exists by the time the client asks for
    # it on any worker: a GET for a topic without history is then a plain 404, not a hang.
    await broker.publish(topic, {"started": prompt})
    broker.start(topic, fake_llm(prompt, tokens, delay), keep_alive=KEEP_ALIVE)  # outlives this request
    return JSONResponse({"topic": topic}, status_code=201)


async def answer_events(request: Request) -> Response:
    """``GET /answers/{topic}``: the topic's events as SSE, after ``Last-Event-ID`` if sent."""
    broker: RedisBroker = request.state.broker
    topic = request.path_params["topic"]
    if not TOPIC.fullmatch(topic):
        return JSONResponse({"error": f"no topic {topic!r}"}, status_code=404)
    after = request.headers.get("last-event-id") or request.query_params.get("lastEventId") or START
    try:
        if after == START and not await broker.retained(topic):
            return JSONResponse({"error": f"no topic {topic!r} (never started, or expired)"}, status_code=404)
        # Checked before the response starts, so a read that would have a gap (the events after
        # ``after`` are no longer retained, or ``after`` is no id of this topic) gets a status,
        # on which EventSource stops retrying, rather than a stream that fails at once.
        await broker.check_resume(topic, after)
        events = broker.subscribe(topic, after=after)
    except SubscriberLagged as error:
        return JSONResponse({"error": "SubscriberLagged", "detail": str(error)}, status_code=410)
    except ValueError as error:  # a Last-Event-ID that is not an event id
        return JSONResponse({"error": str(error)}, status_code=400)
    # done: a last event after the topic's end, so the browser closes instead of reconnecting.
    done = sk.ServerSentEvent("{}", event="done")
    return sk.StreamResponse(events | sk.to_sse(done=done), heartbeat=HEARTBEAT, on_error=error_event)


app = Starlette(
    routes=[
        Route("/answers", start_answer, methods=["POST"]),
        Route("/answers/{topic}", answer_events, methods=["GET"]),
    ],
    lifespan=lifespan,
)
