"""The recipe of docs/broker.md, end to end: two uvicorn worker processes on one real Redis.

Worker A starts a generation (``POST /answers``) and publishes it to Redis; a client reads
half of it from A, disconnects, and reconnects to worker B with ``Last-Event-ID``: B, which
runs no producer, serves the rest from Redis, exactly once and in order. Resuming after an
event no longer retained, or after an id the topic never had, is refused with a status and
the reason, never answered with a stream that silently skips.

The workers are real processes (``python -m uvicorn examples.workers.app:app``), started
once for this module; each test uses its own topics, under a key prefix of this run's own
that is deleted at the end.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import aclosing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio
import pytest

import streamkit as sk
from examples.workers.app import fake_llm
from tests import httpclient as http
from tests.servers import free_port, wait_for

from .conftest import REDIS_URL, delete_keys, require_redis

ROOT = Path(__file__).resolve().parents[2]
MAX_LEN = 60
"""Events each topic keeps (``MAXLEN ~``: Redis trims whole nodes of 100, so it keeps 60 to ~160)."""


@pytest.fixture
def broker_kind() -> str:
    # Redis only; this also puts the conftest's anyio_backend on the real clock.
    return "redis"


@dataclass
class Workers:
    a: str
    b: str
    prefix: str


@pytest.fixture(scope="module")
def workers() -> Iterator[Workers]:
    """Two uvicorn processes serving the recipe app on free ports; killed at the end."""
    require_redis()
    prefix = f"streamkit-test:workers:{uuid.uuid4().hex}:"
    env = {
        **os.environ,
        "REDIS_URL": REDIS_URL,
        "BROKER_PREFIX": prefix,
        "BROKER_MAX_LEN": str(MAX_LEN),
        "KEEP_ALIVE": "30",
        "HEARTBEAT": "0.2",  # keep-alive comments between events: the client must skip them
    }
    processes: list[tuple[subprocess.Popen[bytes], Any]] = []
    urls = []
    try:
        for name in "ab":
            port = free_port()
            log = tempfile.TemporaryFile(prefix=f"streamkit-worker-{name}-")
            command = [sys.executable, "-m", "uvicorn", "examples.workers.app:app"]
            command += ["--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"]
            process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
            processes.append((process, log))
            urls.append(f"http://127.0.0.1:{port}")
            try:
                # uvicorn listens only once the lifespan (the broker) is up.
                wait_for(lambda: process.poll() is not None or _listening(port), timeout=20, interval=0.02)
            except AssertionError:
                raise RuntimeError(f"worker {name} did not start within 20 s:\n{_output(log)}") from None
            if process.poll() is not None:
                raise RuntimeError(f"worker {name} exited with {process.returncode}:\n{_output(log)}")
        yield Workers(urls[0], urls[1], prefix)
    finally:
        for process, log in processes:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)
            output = _output(log)
            if output:  # uvicorn logs warnings and errors only: shown with a failing test
                print(f"-- worker output:\n{output}")
            log.close()
        delete_keys(prefix)


def _listening(port: int) -> bool:
    import socket

    try:
        socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
    except OSError:
        return False
    return True


def _output(log: Any) -> str:
    log.seek(0)
    return str(log.read().decode(errors="replace"))


async def start_answer(worker: str, prompt: str, tokens: int, delay: float) -> str:
    body = json.dumps({"prompt": prompt, "tokens": tokens, "delay": delay}).encode()
    async with http.stream("POST", f"{worker}/answers", headers={"Content-Type": "application/json"}, body=body) as response:
        text = await response.read_all()
    assert response.status == 201, text
    topic: str = json.loads(text)["topic"]
    return topic


async def read_events(
    worker: str, topic: str, *, count: int | None = None, last_event_id: str | None = None
) -> tuple[list[sk.ServerSentEvent], float]:
    """``count`` events of ``GET /answers/{topic}`` (all, up to the ``done`` event, if None),
    then disconnect; also the seconds until the first event arrived."""
    headers = {} if last_event_id is None else {"Last-Event-ID": last_event_id}
    decoder = sk.SSEDecoder()
    events: list[sk.ServerSentEvent] = []
    first_after = -1.0
    started = time.perf_counter()
    async with http.stream("GET", f"{worker}/answers/{topic}", headers=headers) as response:
        assert response.status == 200, await response.read_all()
        assert response.headers["content-type"] == "text/event-stream; charset=utf-8"
        async with aclosing(response.chunks()) as chunks:
            async for chunk in chunks:
                for event in decoder.feed(chunk):
                    if first_after < 0:
                        first_after = time.perf_counter() - started
                    if event.event == "error":
                        raise AssertionError(f"the stream failed: {event.data}")
                    if event.event == "done":
                        return events, first_after
                    events.append(event)
                    if count is not None and len(events) == count:
                        return events, first_after
    raise AssertionError(f"the stream ended without its done event, after {len(events)} events")


async def refused(worker: str, topic: str, last_event_id: str) -> tuple[int, dict[str, Any]]:
    async with http.stream("GET", f"{worker}/answers/{topic}", headers={"Last-Event-ID": last_event_id}) as response:
        body = await response.read_all()
    return response.status, json.loads(body)


def key(event_id: str | None) -> tuple[int, int]:
    assert event_id is not None
    ms, seq = event_id.split("-")
    return int(ms), int(seq)


async def test_client_resumes_on_another_worker_exactly_once_in_order(workers: Workers) -> None:
    prompt = f"resume {uuid.uuid4().hex}"
    expected = [{"started": prompt}] + [item async for item in fake_llm(prompt, 40, 0)]
    with anyio.fail_after(30):
        topic = await start_answer(workers.a, prompt, tokens=40, delay=0.02)  # the producer runs on A
        first, _ = await read_events(workers.a, topic, count=21)  # "started" and 20 of 40 tokens
        last_seen = first[-1].id
        assert last_seen is not None
        rest, resume_took = await read_events(workers.b, topic, last_event_id=last_seen)

    received = [json.loads(event.data) for event in first + rest]
    assert received == expected  # nothing lost, nothing twice, in order
    ids = [key(event.id) for event in first + rest]
    assert ids == sorted(set(ids))  # every event has an id, strictly increasing across both workers
    assert len(rest) == len(expected) - len(first)
    print(f"\nresume on worker B: first event {resume_took * 1000:.1f} ms after the request")


async def test_resume_after_events_no_longer_retained_is_refused(workers: Workers) -> None:
    import redis

    prompt = f"retention {uuid.uuid4().hex}"
    with anyio.fail_after(30):
        # 250 events, well past the ~60 retained; 5 ms apart so that the client reads the first
        # ones long before Redis trims them (it trims whole nodes of 100 entries).
        topic = await start_answer(workers.a, prompt, tokens=250, delay=0.005)
        first, _ = await read_events(workers.a, topic, count=3)
        last_seen = first[-1].id
        assert last_seen is not None

        client = redis.Redis.from_url(REDIS_URL)
        stream_key = f"{workers.prefix}{{{topic}}}"

        def trimmed_past_last_seen() -> bool:
            oldest: Any = client.xrange(stream_key, count=1)
            return bool(oldest) and key(oldest[0][0].decode()) > key(last_seen)

        try:
            await anyio.to_thread.run_sync(lambda: wait_for(trimmed_past_last_seen, timeout=20, interval=0.02))
        finally:
            client.close()
        status, body = await refused(workers.b, topic, last_seen)

    assert status == 410
    assert body["error"] == "SubscriberLagged"
    assert f"after id {last_seen}" in body["detail"]
    assert "no longer retained" in body["detail"]


async def test_resume_after_an_id_the_topic_never_had_is_refused(workers: Workers) -> None:
    with anyio.fail_after(30):
        older = await start_answer(workers.a, "older", tokens=2, delay=0)
        old_events, _ = await read_events(workers.a, older)
        topic = await start_answer(workers.a, "newer", tokens=2, delay=0)
        events, _ = await read_events(workers.b, topic)
        newest = key(events[-1].id)

        # An id of another topic, older than all of this one's: as after a topic was reset.
        from_elsewhere = await refused(workers.b, topic, str(old_events[-1].id))
        # An id a minute after this topic's newest event.
        from_future = await refused(workers.b, topic, f"{newest[0] + 60_000}-0")
        # A topic that never existed (or expired): no history to resume from.
        unknown = await refused(workers.b, f"answer:{uuid.uuid4().hex}", str(events[-1].id))
        async with http.stream("GET", f"{workers.b}/answers/{topic}", headers={"Last-Event-ID": "yesterday"}) as response:
            malformed = response.status, json.loads(await response.read_all())

    assert from_elsewhere[0] == 410 and "was reset" in from_elsewhere[1]["detail"]
    assert from_future[0] == 410 and "after the topic's newest event" in from_future[1]["detail"]
    assert unknown[0] == 410 and "has no history" in unknown[1]["detail"]
    assert malformed[0] == 400 and "'yesterday' is not an event id" in malformed[1]["error"]
