"""The demo's pipelines: each one a short streamkit pipeline over an offline source.

Everything here is deterministic and local: the "model" is a word list with pauses, the
"sensor" a sine wave with a little pseudo-random noise, the log a file the demo writes itself.
"""

from __future__ import annotations

import itertools
import json
import math
import random
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import anyio

import streamkit as sk

ANSWERS = [
    "Streams are descriptions: every request gets its own run, and the run is closed the moment "
    "the browser goes away, so an upstream model call stops too.",
    "A pipeline reads left to right: a source, then operators such as map, throttle and batch, "
    "then a framing step such as to_sse or to_ndjson, then a sink.",
    "Heartbeats keep idle connections open through proxies; in SSE they are comment lines "
    "that a browser never shows, unless you ask for a named ping event.",
]


def fake_model(*, pause: float = 0.04, between: float = 1.2, seed: int = 7) -> sk.Stream[sk.ServerSentEvent]:
    """An offline LLM-shaped stream: answers token by token with uneven pauses, forever.

    Each answer is ``token`` events (one word each, JSON ``{"answer": n, "text": ...}``) and
    one ``done`` event, then a pause before the next answer.
    """

    async def run() -> AsyncIterator[sk.ServerSentEvent]:
        jitter = random.Random(seed)  # per run: every client sees the same "model"
        for number in itertools.count(1):
            text = ANSWERS[(number - 1) % len(ANSWERS)]
            for index, word in enumerate(text.split(" ")):
                await anyio.sleep(pause * (0.5 + jitter.random() * 2))
                token = word if index == 0 else " " + word
                yield sk.ServerSentEvent(json.dumps({"answer": number, "text": token}), event="token")
            yield sk.ServerSentEvent(json.dumps({"answer": number}), event="done")
            await anyio.sleep(between)

    return sk.Stream(run)


def llm_events() -> sk.Stream[bytes]:
    """``GET /llm``: the fake model as SSE, with ids so a reconnecting browser could resume."""
    return fake_model() | sk.to_sse(ids=True, retry=1000)


def sensor_readings(period: float = 0.01) -> sk.Stream[float]:
    """A 100 Hz sensor: a slow sine wave plus noise."""
    noise = random.Random(3)

    def read(tick: int) -> float:
        return round(20 + 5 * math.sin(tick / 150) + noise.uniform(-0.5, 0.5), 3)

    return sk.interval(period) | sk.map(read)


def summarize(readings: list[float]) -> dict[str, Any]:
    return {
        "count": len(readings),
        "mean": round(sum(readings) / len(readings), 3),
        "min": min(readings),
        "max": max(readings),
    }


def sensor_events() -> sk.Stream[bytes]:
    """``GET /sensor``: 100 readings a second, throttled to 10 a second, batched every second."""
    return sensor_readings() | sk.throttle(0.1) | sk.batch(max_wait=1.0) | sk.map(summarize) | sk.to_sse(event="batch")


def log_records(period: float = 0.4) -> sk.Stream[bytes]:
    """The demo's own log, as NDJSON lines: what it writes to the file it then tails."""
    levels = ["INFO", "INFO", "INFO", "DEBUG", "WARNING"]
    words = ["request served", "cache hit", "cache miss", "user signed in", "queue drained", "slow query"]

    def record(tick: int) -> dict[str, Any]:
        return {"seq": tick + 1, "level": levels[tick % len(levels)], "message": words[(tick * 7) % len(words)]}

    return sk.interval(period, immediate=True) | sk.map(record) | sk.to_ndjson()


def tail_events(path: Path) -> sk.Stream[bytes]:
    """``GET /log``: the file as it grows, one JSON object per line, re-framed as NDJSON."""
    return sk.from_file(path, follow=True, poll_interval=0.1) | sk.filter(bool) | sk.map(json.loads) | sk.to_ndjson()


def heartbeat_events(tick: float = 5.0, period: float = 1.0) -> sk.Stream[bytes]:
    """``GET /heartbeat``: a quiet stream (a tick every 5 s) with a named ``ping`` event
    after every second of silence. (The sinks' own ``heartbeat=`` keep-alives are comment
    lines the page never sees; these pings are visible on purpose.)"""
    def tick_event(n: int) -> sk.ServerSentEvent:
        return sk.ServerSentEvent(json.dumps({"tick": n + 1}), event="tick")

    ticks = sk.interval(tick) | sk.map(tick_event)
    return ticks | sk.heartbeat(period, sk.ServerSentEvent("{}", event="ping")) | sk.to_sse()


PIPELINES: dict[str, str] = {
    "llm": "fake_model() | sk.to_sse(ids=True, retry=1000)",
    "sensor": "sensor_readings() | sk.throttle(0.1) | sk.batch(max_wait=1.0)\n    | sk.map(summarize) | sk.to_sse(event=\"batch\")",
    "log": "sk.from_file(log, follow=True) | sk.filter(bool)\n    | sk.map(json.loads) | sk.to_ndjson()",
    "heartbeat": "ticks_every_5s | sk.heartbeat(1.0, ping) | sk.to_sse()",
}
"""The code each card shows, as written above."""
