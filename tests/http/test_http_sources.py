"""streamkit.http against a real uvicorn server serving streamkit.asgi: bytes, lines, NDJSON,
SSE, closing on early stop, and an SSE client that reconnects after the server drops it."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from typing import Any

import anyio
import pytest

import streamkit as sk
from streamkit import http
from tests.servers import uvicorn_server

httpx = pytest.importorskip("httpx")

# On trio, stopping a response early leaves httpx's own nested async generators to the
# garbage collector (httpx's, not streamkit's; streamkit closes the response itself).
HTTPX_GENERATORS = pytest.mark.filterwarnings(
    r"ignore:Async generator 'httpx\._[\w.]+' was garbage collected:ResourceWarning",
    r"ignore:Async generator 'httpcore\._[\w.]+' was garbage collected:ResourceWarning",
)
pytestmark = HTTPX_GENERATORS


@pytest.fixture(params=["asyncio", "trio"])
def anyio_backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)  # real sockets: the real clock


async def test_bytes_lines_and_ndjson() -> None:
    records = [{"n": i, "text": "Zürich 日本"} for i in range(50)]
    app = sk.asgi(sk.iterate(records) | sk.to_ndjson())
    with uvicorn_server(app) as url:
        body = b"".join(await http.stream_bytes(url, method="POST", json={"q": 1}).list())
        lines = await http.lines(url).list()
        values = await http.ndjson(url).list()
    assert body.decode().splitlines() == lines
    assert len(lines) == 50
    assert values == records


async def test_sse_until_a_sentinel_and_a_bad_status() -> None:
    app = sk.asgi(sk.iterate(["a", "b"]) | sk.to_sse(ids=True, done="[DONE]"))
    with uvicorn_server(app) as url:
        events = await http.sse(url, until="[DONE]").list()
        assert [(event.data, event.id) for event in events] == [("a", "1"), ("b", "2")]
    with uvicorn_server(sk.asgi(sk.iterate([b"no"]), status=404)) as url:
        with pytest.raises(httpx.HTTPStatusError, match="404"):
            await http.stream_bytes(url).list()


async def test_stopping_early_closes_the_response_and_the_server_sees_it() -> None:
    closed: list[float] = []

    async def endless() -> AsyncIterator[str]:
        try:
            for i in range(10_000):
                yield str(i)
                await anyio.sleep(0.01)
        finally:
            closed.append(time.monotonic())

    with uvicorn_server(sk.asgi(sk.Stream(endless) | sk.to_sse())) as url:
        async with http.sse(url).open() as events:
            got = [event.data async for event, _ in zip_range(events, 3)]
            stopped = time.monotonic()
        with anyio.fail_after(5):
            while not closed:
                await anyio.sleep(0.005)
    print(f"run closed -> server source closed: {(closed[0] - stopped) * 1000:.1f} ms")
    assert got == ["0", "1", "2"]


async def zip_range(items: AsyncIterator[Any], n: int) -> AsyncIterator[tuple[Any, int]]:
    for i in range(n):
        yield await anext(items), i


def dropping(app: Any, after_events: int) -> Any:
    """``app``, but the first connection is cut (no end of body) after ``after_events`` events."""
    connections = 0

    async def cut(scope: Any, receive: Any, send: Any) -> None:
        nonlocal connections
        connections += 1
        if connections > 1:
            await app(scope, receive, send)
            return
        sent = 0
        with anyio.CancelScope() as scope_:

            async def counting_send(message: Any) -> None:
                nonlocal sent
                await send(message)
                sent += message.get("body", b"").count(b"data:")
                if sent >= after_events:
                    scope_.cancel()

            await app(scope, receive, counting_send)
        # Returning with the response unfinished makes uvicorn close the connection.

    return cut


async def test_the_sse_client_reconnects_with_last_event_id_and_resumes() -> None:
    requests: list[str | None] = []

    def numbered(request: sk.Request) -> sk.Stream[bytes]:
        requests.append(request.last_event_id)
        start = int(request.last_event_id or 0) + 1

        async def events() -> AsyncIterator[sk.ServerSentEvent]:
            for n in range(start, 7):
                yield sk.ServerSentEvent(f"event {n}", id=str(n))
                await anyio.sleep(0.01)  # one event per body message, so the cut falls between events

        return sk.Stream(events) | sk.to_sse(retry=50)

    app = dropping(sk.asgi(numbered), after_events=3)
    with uvicorn_server(app, log_level="critical") as url:
        source = http.sse(url, reconnect=http.Reconnect(delay=5, max_attempts=3))
        started = time.monotonic()
        got = [(event.id, event.data) async for event in source]
        elapsed = time.monotonic() - started
    assert got == [(str(n), f"event {n}") for n in range(1, 7)]
    assert requests == [None, "3"]
    outcome = source.outcome
    assert (outcome.status, outcome.connections, outcome.events, outcome.last_event_id) == ("completed", 2, 6, "6")
    assert outcome.reconnect_waits == [0.05]  # the server's retry: 50, not delay=5
    print(f"dropped, reconnected and resumed in {elapsed * 1000:.0f} ms")
    assert elapsed < 5


async def test_the_sse_client_gives_up_and_reports_the_error() -> None:
    with uvicorn_server(sk.asgi(sk.iterate([b"busy"]), status=503)) as url:
        source = http.sse(url, reconnect=http.Reconnect(delay=0.01, max_attempts=2, raise_on_failure=False))
        assert await source.list() == []
        with pytest.raises(http.GaveUpError, match="3 connection"):
            await http.sse(url, reconnect=http.Reconnect(delay=0.01, max_attempts=2)).list()
    assert source.outcome.failed and source.outcome.connections == 3
    assert isinstance(source.outcome.error, httpx.HTTPStatusError)
    assert source.outcome.reconnect_waits == [0.01, 0.02]


def test_bad_arguments_are_named() -> None:
    with pytest.raises(TypeError, match="url"):
        http.stream_bytes(42)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="json= or content="):
        http.ndjson("http://x", json={}, content=b"")
    with pytest.raises(ValueError, match="backoff"):
        http.Reconnect(backoff=0.5)
    with pytest.raises(TypeError, match="reconnect"):
        http.sse("http://x", reconnect=3)  # type: ignore[arg-type]
