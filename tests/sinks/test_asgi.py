"""streamkit.asgi under a real uvicorn, read by a real HTTP client over loopback."""

from __future__ import annotations

import logging
import time

import anyio
import httpx
import pytest

import streamkit as sk
from streamkit._sinks.asgi import asgi
from tests import httpclient as http
from tests.httpclient import StreamedResponse
from tests.servers import uvicorn_server, wait_for
from tests.sinks.helpers import SSE, Probe


async def read_events(response: StreamedResponse, count: int) -> list[bytes]:
    """Read ``count`` whole SSE blocks (frames may arrive joined or split)."""
    body = await response.read_until(b"\n\n", count)
    return body.split(b"\n\n")[:count]


async def test_serves_sse_with_protocol_headers() -> None:
    probe = Probe(3)
    with uvicorn_server(asgi(probe.stream())) as url:
        async with httpx.AsyncClient() as client:
            response = await client.get(url + "/anything")
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/event-stream; charset=utf-8"
    assert response.headers["cache-control"] == "no-cache"
    assert response.headers["x-accel-buffering"] == "no"
    assert "content-encoding" not in response.headers
    assert response.content == b"id: 0\ndata: 0\n\nid: 1\ndata: 1\n\nid: 2\ndata: 2\n\n"
    assert probe.closed.is_set()


async def test_each_request_gets_a_fresh_run_and_sees_its_request() -> None:
    seen: list[tuple[str, str, str | None, str | None, bytes]] = []

    async def factory(request: sk.Request) -> sk.Stream[bytes]:
        body = await request.body()
        seen.append((request.method, request.path, request.query.get("topic"), request.last_event_id, body))
        return sk.iterate([b"ok\n"])

    with uvicorn_server(asgi(factory, media_type="text/plain")) as url:
        async with httpx.AsyncClient() as client:
            first = await client.get(url + "/events?topic=news", headers={"Last-Event-ID": "41"})
            second = await client.post(url + "/chat?lastEventId=7", content=b'{"q": 1}')
    assert (first.text, second.text) == ("ok\n", "ok\n")
    assert seen == [("GET", "/events", "news", "41", b""), ("POST", "/chat", None, "7", b'{"q": 1}')]


async def test_error_before_the_first_frame_is_a_500(caplog: pytest.LogCaptureFixture) -> None:
    probe = Probe(fail_after=0)
    with uvicorn_server(asgi(probe.stream())) as url:
        async with httpx.AsyncClient() as client:
            response = await client.get(url)
    assert response.status_code == 500
    assert probe.closed.is_set()
    assert any(record.exc_info and isinstance(record.exc_info[1], LookupError) for record in caplog.records)


async def test_error_after_the_first_frame_ends_with_a_framed_error_logged_once(caplog: pytest.LogCaptureFixture) -> None:
    probe = Probe(fail_after=2)
    with caplog.at_level(logging.ERROR, logger="streamkit"), uvicorn_server(asgi(probe.stream())) as url:
        async with httpx.AsyncClient() as client:
            response = await client.get(url)
    assert response.status_code == 200
    assert response.content.endswith(b"id: 1\ndata: 1\n\nevent: error\ndata: failed\n\n")
    failures = [r for r in caplog.records if r.exc_info and isinstance(r.exc_info[1], LookupError)]
    assert len(failures) == 1


@pytest.mark.parametrize("idle", [False, True], ids=["busy-source", "idle-source"])
async def test_client_disconnect_closes_the_source_promptly(idle: bool) -> None:
    # Idle: the source waits an hour for its 4th item when the client leaves.
    probe = Probe(pause_after=3, pause=3600) if idle else Probe(pause_after=0, pause=0.01)
    with uvicorn_server(asgi(probe.stream())) as url:
        async with http.stream("GET", url) as response:
            events = await read_events(response, 3)
        closed_at = time.monotonic()
        latency = await anyio.to_thread.run_sync(lambda: wait_for(probe.closed.is_set))
    assert events == [b"id: 0\ndata: 0", b"id: 1\ndata: 1", b"id: 2\ndata: 2"]
    print(f"source finally ran {latency * 1000:.1f} ms after the client closed")
    assert time.monotonic() - closed_at < 5


async def test_heartbeats_keep_an_idle_stream_alive_and_never_end_a_block() -> None:
    probe = Probe(pause_after=1, pause=3600)
    with uvicorn_server(asgi(probe.stream(), heartbeat=0.05)) as url:
        async with http.stream("GET", url) as response:
            received = await response.read_until(b":\n", 3)
    assert received.startswith(b"id: 0\ndata: 0\n\n:\n:\n:\n")
    # A keep-alive is one comment line: no blank line that would dispatch an empty event.
    assert b"\n\n" not in received[len(b"id: 0\ndata: 0\n\n"):]


async def test_a_client_that_stops_reading_does_not_make_the_server_buffer_without_bound() -> None:
    probe = Probe(pause_after=0, pause=0)

    async def frames() -> sk.Stream[bytes]:
        async def run():  # 4 KiB frames, as fast as the socket takes them
            async for frame in probe.frames():
                yield frame + b": " + b"x" * 4096 + b"\n\n"
        return sk.Stream(run, framing=SSE)

    with uvicorn_server(asgi(lambda request: frames())) as url:
        async with http.stream("GET", url) as response:
            await read_events(response, 1)
            # Stop reading. The socket buffers fill, then the server must stop pulling.
            samples = []
            for _ in range(6):
                await anyio.sleep(0.25)
                samples.append(probe.produced)
    print("frames produced while the client did not read:", samples)
    assert samples[-1] == samples[-2] == samples[-3], "the source kept being read for a client that reads nothing"
    assert samples[-1] < 10_000
