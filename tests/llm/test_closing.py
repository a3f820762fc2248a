"""Ending a run closes the SDK stream and its HTTP response at once: no further token is read.

Each case streams real wire bytes, one event (or NDJSON line) per body chunk, through the real
SDK. The body counts the chunks the SDK pulled and, in the "waiting" scenarios, stalls after
the third token like a model slow to send the next one. Three ways to end the run:

- the consumer stops after three tokens (``break`` inside ``async with stream.open()``);
- another task calls ``Run.close()`` while the consumer waits for the fourth token;
- the consumer's cancel scope is cancelled while it waits (what a sink does on disconnect).

Cleanup is asserted (within a generous 5 s bound, real clock) and its latency printed.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import anyio
import httpx
import httpx2
import pytest

from streamkit.llm import TextDelta, from_anthropic, from_ollama, from_openai
from tests.llm.wire import (
    SDK_GENERATOR_WARNINGS,
    UNICODE_PIECES,
    MockServer,
    anthropic_client,
    anthropic_events,
    ndjson,
    ollama_client,
    ollama_parts,
    openai_chat_text,
    openai_client,
    per_event,
    responses_events,
    sse,
)

pytest.importorskip("openai")
pytest.importorskip("anthropic")
pytest.importorskip("ollama")
pytestmark = SDK_GENERATOR_WARNINGS

CHAT = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]}
CLAUDE = {"model": "claude-sonnet-4-6", "max_tokens": 256, "messages": [{"role": "user", "content": "hi"}]}
LLAMA = {"model": "llama3.2", "messages": [{"role": "user", "content": "hi"}]}


@dataclass
class Case:
    name: str
    chunks: list[bytes]
    preamble: int
    """Body chunks before the first token."""
    source: Callable[[MockServer], Any]
    """Builds what the adapter reads (an SDK stream, manager, coroutine, or factory)."""
    adapter: Callable[[Any], Any]
    http: Any = httpx2
    sync: bool = False
    instant: bool = True
    """False where the SDK gives no handle on the response: a sync generator (the sync ollama
    Client) can only be closed by the worker thread once its pending read returns."""


CHAT_CHUNKS = per_event(sse(openai_chat_text()))
RESPONSES_CHUNKS = per_event(sse(responses_events()))
CLAUDE_CHUNKS = per_event(sse(anthropic_events()))
LLAMA_CHUNKS = per_event(ndjson(ollama_parts()), b"\n")

CASES = [
    Case(
        "openai-async",
        CHAT_CHUNKS,
        1,
        lambda s: openai_client(s).chat.completions.create(stream=True, **CHAT),
        from_openai,
    ),
    Case(
        "openai-sync",
        CHAT_CHUNKS,
        1,
        # A function: the run sends the blocking request in a worker thread.
        lambda s: lambda: openai_client(s, sync=True).chat.completions.create(stream=True, **CHAT),
        from_openai,
        sync=True,
    ),
    Case(
        "openai-async-manager",
        CHAT_CHUNKS,
        1,
        lambda s: openai_client(s).chat.completions.stream(**CHAT),
        from_openai,
    ),
    Case(
        "openai-sync-manager",
        CHAT_CHUNKS,
        1,
        lambda s: openai_client(s, sync=True).chat.completions.stream(**CHAT),
        from_openai,
        sync=True,
    ),
    Case(
        "openai-responses-async",
        RESPONSES_CHUNKS,
        4,
        lambda s: openai_client(s).responses.create(model="gpt-4.1", input="hi", stream=True),
        from_openai,
    ),
    Case(
        "openai-responses-sync-manager",
        RESPONSES_CHUNKS,
        4,
        lambda s: openai_client(s, sync=True).responses.stream(model="gpt-4.1", input="hi"),
        from_openai,
        sync=True,
    ),
    Case(
        "anthropic-async",
        CLAUDE_CHUNKS,
        3,
        lambda s: anthropic_client(s).messages.create(stream=True, **CLAUDE),
        from_anthropic,
    ),
    Case(
        "anthropic-async-manager",
        CLAUDE_CHUNKS,
        3,
        lambda s: anthropic_client(s).messages.stream(**CLAUDE),
        from_anthropic,
    ),
    Case(
        "anthropic-sync-manager",
        CLAUDE_CHUNKS,
        3,
        lambda s: anthropic_client(s, sync=True).messages.stream(**CLAUDE),
        from_anthropic,
        sync=True,
    ),
    Case(
        "ollama-async",
        LLAMA_CHUNKS,
        0,
        lambda s: ollama_client(s).chat(stream=True, **LLAMA),
        from_ollama,
        http=httpx,
    ),
    Case(
        "ollama-sync",
        LLAMA_CHUNKS,
        0,
        lambda s: lambda: ollama_client(s, sync=True).chat(stream=True, **LLAMA),
        from_ollama,
        http=httpx,
        sync=True,
        instant=False,
    ),
]

FIRST_TOKENS = [TextDelta(piece) for piece in UNICODE_PIECES[:3]]


def prepare(case: Case, *, stall: bool) -> tuple[MockServer, Any]:
    server = MockServer(case.http, "application/x-ndjson" if case.http is httpx else "text/event-stream")
    server.script(case.chunks, stall_after=case.preamble + 3 if stall else None)
    return server, case.adapter(case.source(server))


async def wait_for(condition: Callable[[], bool]) -> None:
    with anyio.fail_after(5):
        while not condition():
            await anyio.sleep(0.002)


async def assert_closed(case: Case, server: MockServer, elapsed: float | None, how: str) -> None:
    body = server.body
    if elapsed is not None:
        print(f"{case.name}: {how}: run ended {elapsed * 1000:.1f} ms after the request to stop")
        assert elapsed < 5
    if not case.instant and body.stalled.is_set():
        # The run has ended; the worker still waits in its read. When the next token comes,
        # the worker drops it and closes the generator, and with it the response.
        pending = body.pulled
        body.resume()
        await wait_for(lambda: server.response.is_closed)
        assert body.pulled == pending + 1
        body.pulled -= 1  # the dropped read; the checks below are on what the run asked for
    assert server.response.is_closed, "the HTTP response was left open"
    assert body.closed, "the response body was never closed"
    if case.sync and body.stalled.is_set():
        # The worker thread that was waiting in the body leaves it once the body is closed.
        await wait_for(body.reader_done.is_set)
    assert body.pulled == case.preamble + 3, f"the SDK read {body.pulled - case.preamble - 3} chunk(s) too many"
    assert body.pulled_after_close == 0


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.name)
async def test_consumer_stops_after_three_tokens(case: Case) -> None:
    server, events = prepare(case, stall=False)
    got: list[Any] = []
    async with events.open() as run:
        async for event in run:
            got.append(event)
            if len(got) == 3:
                break
    assert got == FIRST_TOKENS
    await assert_closed(case, server, None, "consumer stopped")


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.name)
async def test_run_closed_while_waiting_for_a_token(case: Case) -> None:
    server, events = prepare(case, stall=True)
    got: list[Any] = []
    async with events.open() as run:

        async def consume() -> None:
            async for event in run:
                got.append(event)

        async with anyio.create_task_group() as group:
            group.start_soon(consume)
            await wait_for(lambda: bool(server.bodies) and server.body.stalled.is_set())
            started = time.monotonic()
            run.close()
        elapsed = time.monotonic() - started
    assert got == FIRST_TOKENS
    await assert_closed(case, server, elapsed, "Run.close()")


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.name)
async def test_consumer_cancelled_while_waiting_for_a_token(case: Case) -> None:
    server, events = prepare(case, stall=True)
    got: list[Any] = []
    stopped = 0.0
    with anyio.CancelScope() as scope:

        async def cancel_when_stalled() -> None:
            nonlocal stopped
            await wait_for(lambda: bool(server.bodies) and server.body.stalled.is_set())
            stopped = time.monotonic()
            scope.cancel()

        async with anyio.create_task_group() as group:
            group.start_soon(cancel_when_stalled)
            async for event in events:  # a plain loop, as a sink runs it
                got.append(event)
    elapsed = time.monotonic() - stopped
    assert scope.cancelled_caught
    assert got == FIRST_TOKENS
    await assert_closed(case, server, elapsed, "cancelled")


class SlowServer(MockServer):
    """A server whose answer waits until the test lets it go: a request still under way."""

    def __init__(self) -> None:
        super().__init__(httpx2, "text/event-stream")
        self.arrived = threading.Event()
        self.answer = threading.Event()

    def handle(self, request: Any) -> Any:
        self.arrived.set()
        self.answer.wait(10)
        return super().handle(request)


@pytest.mark.parametrize("form", ["factory", "manager"])
async def test_cancelled_while_a_sync_request_is_under_way(form: str) -> None:
    # The blocking request runs in a worker thread; cancelling does not wait for it, and the
    # response it brings back later is closed unread.
    server = SlowServer()
    server.script(CHAT_CHUNKS)
    client = openai_client(server, sync=True)
    if form == "factory":
        events = from_openai(lambda: client.chat.completions.create(stream=True, **CHAT))
    else:
        events = from_openai(client.chat.completions.stream(**CHAT))
    got: list[Any] = []
    with anyio.CancelScope() as scope:

        async def cancel_when_sent() -> None:
            await wait_for(server.arrived.is_set)
            scope.cancel()

        async with anyio.create_task_group() as group:
            group.start_soon(cancel_when_sent)
            async for event in events:
                got.append(event)
    assert scope.cancelled_caught and got == []
    assert not server.responses  # the run ended before the answer came
    server.answer.set()
    await wait_for(lambda: bool(server.responses) and server.response.is_closed)
    assert server.body.pulled == 0


async def test_cancelled_while_an_async_request_is_under_way() -> None:
    server = MockServer(httpx2, "text/event-stream")
    server.script(CHAT_CHUNKS)
    arrived = anyio.Event()

    async def handle(request: Any) -> Any:
        arrived.set()
        await anyio.sleep_forever()

    import openai

    transport = httpx2.MockTransport(handle)
    client = openai.AsyncOpenAI(
        api_key="sk-test",
        base_url="http://api.test/v1",
        max_retries=0,
        http_client=httpx2.AsyncClient(transport=transport),
    )
    events = from_openai(client.chat.completions.create(stream=True, **CHAT))
    with anyio.CancelScope() as scope:

        async def cancel_when_sent() -> None:
            await arrived.wait()
            scope.cancel()

        async with anyio.create_task_group() as group:
            group.start_soon(cancel_when_sent)
            async for _ in events:
                pass
    assert scope.cancelled_caught


async def test_a_run_cancelled_before_its_worker_starts_still_closes_everything() -> None:
    # The blocking iterator is a generator the run must close itself (no response handle).
    from streamkit.llm._reading import _ThreadReader

    finished: list[str] = []

    def parts() -> Any:
        try:
            yield "first"
            yield "second"
        finally:
            finished.append("closed")

    reader = _ThreadReader(parts())
    assert await reader.next() == "first"
    with anyio.CancelScope() as scope:
        scope.cancel()
        await reader.next()  # cancelled before a worker thread takes it
    assert scope.cancelled_caught
    await reader.aclose()
    assert finished == ["closed"]


async def test_a_sync_stream_in_a_cancelled_scope_is_closed() -> None:
    server = MockServer(httpx2, "text/event-stream")
    server.script(CHAT_CHUNKS)
    stream = openai_client(server, sync=True).chat.completions.create(stream=True, **CHAT)
    with anyio.CancelScope() as scope:
        scope.cancel()
        async for _ in from_openai(stream):
            pass
    assert server.response.is_closed and server.body.pulled == 0
