"""A real browser's EventSource against streamkit.asgi: reconnect with Last-Event-ID, resume,
every event exactly once and in order, heartbeats invisible to the page.

Headless Chromium (Debian's ``chromium``, or ``STREAMKIT_CHROMIUM``) is driven through
playwright's Python package; its own browser download is never used. Without a browser the
test is skipped with the reason, unless ``STREAMKIT_REQUIRE_BROWSER=1`` (CI), where it fails.
A screenshot of the page is saved to ``test-artifacts/``.
"""

from __future__ import annotations

import os
import shutil
import threading
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import anyio
import pytest

import streamkit as sk
from tests.servers import uvicorn_server, wait_for

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--headless",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

SSE = sk.Framing("text/event-stream; charset=utf-8", keepalive=b":\n")
TOTAL = 20
DROP_AFTER = 7
HEARTBEAT = 0.05
PAUSE = 0.25
"""A silence of several heartbeat periods, once per connection, so keep-alives go out between events."""

PAGE = b"""<!doctype html>
<meta charset="utf-8">
<title>streamkit EventSource</title>
<h1>streamkit EventSource</h1>
<p id="status">connecting</p>
<ol id="log"></ol>
<script>
  window.received = [];
  window.opens = 0;
  window.errors = 0;
  window.done = false;
  const status = document.getElementById("status");
  const log = document.getElementById("log");
  const source = new EventSource("/events");
  source.onopen = () => { window.opens += 1; status.textContent = `open (${window.opens})`; };
  source.onerror = () => { window.errors += 1; status.textContent = "reconnecting"; };
  source.onmessage = (event) => {
    window.received.push([event.lastEventId, event.data]);
    const item = document.createElement("li");
    item.textContent = `id ${event.lastEventId}: ${event.data}`;
    log.append(item);
    if (event.data === "20") {
      source.close();
      status.textContent = `done: ${window.received.length} events, ${window.opens} connections`;
      window.done = true;
    }
  };
</script>
"""


def chromium() -> str:
    """The browser to drive, or skip (fail under STREAMKIT_REQUIRE_BROWSER=1) saying why not."""
    path = os.environ.get("STREAMKIT_CHROMIUM") or shutil.which("chromium")
    problem = None
    if not path:
        problem = "no Chromium: install Debian's 'chromium' package or set STREAMKIT_CHROMIUM"
    elif not os.access(path, os.X_OK):
        problem = f"STREAMKIT_CHROMIUM={path} is not an executable"
    else:
        try:
            import playwright.sync_api  # noqa: F401
        except ImportError:
            problem = "playwright's Python package is not installed (pip install playwright; no browser download needed)"
    if problem is not None:
        if os.environ.get("STREAMKIT_REQUIRE_BROWSER") == "1":
            pytest.fail(f"STREAMKIT_REQUIRE_BROWSER=1 but {problem}")
        pytest.skip(problem)
    assert path is not None
    return path


class Feed:
    """The stream factory: events 1..20 with ids. The first connection drops in the middle of
    event 8 (its block never ends); a reconnecting browser's ``Last-Event-ID`` says where to
    resume. Records the header each request carried and when each run's ``finally`` ran."""

    def __init__(self) -> None:
        self.last_event_ids: list[str | None] = []
        self.closed: list[threading.Event] = []

    def __call__(self, request: sk.Request) -> sk.Stream[bytes]:
        header = request.headers.get("last-event-id")
        self.last_event_ids.append(header)
        first_connection = len(self.last_event_ids) == 1
        after = int(header) if header else 0
        closed = threading.Event()
        self.closed.append(closed)

        async def run() -> AsyncIterator[bytes]:
            try:
                for n in range(after + 1, TOTAL + 1):
                    if first_connection and n == DROP_AFTER + 1:
                        # Half an event, then the connection ends: the browser must drop it and
                        # still ask to resume after 7.
                        yield f"id: {n}\ndata: {n}".encode()
                        return
                    if n in (4, 12):
                        await anyio.sleep(PAUSE)
                    else:
                        await anyio.sleep(0.01)
                    # Every connection's first event sets a short reconnection delay.
                    retry = "retry: 100\n" if n == after + 1 else ""
                    yield f"{retry}id: {n}\ndata: {n}\n\n".encode()
                await anyio.sleep(3600)  # idle, heartbeats only, until the page closes the stream
            finally:
                closed.set()

        return sk.Stream(run, framing=SSE)


def make_app(feed: Feed, sent: list[bytearray]) -> Any:
    """The page at ``/`` and the stream at ``/events``, from one ASGI application. What the
    stream sends on each connection is recorded in ``sent``."""
    events = sk.asgi(feed, heartbeat=HEARTBEAT)

    async def app(scope: Any, receive: Any, send: Any) -> None:
        if scope["path"] == "/events":
            body = bytearray()
            sent.append(body)

            async def recording(message: Any) -> None:
                if message["type"] == "http.response.body":
                    body.extend(message.get("body", b""))
                await send(message)

            await events(scope, receive, recording)
            return
        status, content = (200, PAGE) if scope["path"] == "/" else (404, b"not found")
        await send({"type": "http.response.start", "status": status, "headers": [(b"content-type", b"text/html; charset=utf-8")]})
        await send({"type": "http.response.body", "body": content})

    return app


def test_eventsource_reconnects_with_last_event_id_and_gets_every_event_once(tmp_path: Path) -> None:
    executable = chromium()
    from playwright.sync_api import sync_playwright

    feed = Feed()
    sent: list[bytearray] = []
    with uvicorn_server(make_app(feed, sent)) as url, sync_playwright() as playwright:
        browser = playwright.chromium.launch_persistent_context(
            str(tmp_path / "profile"), executable_path=executable, headless=True, args=CHROMIUM_ARGS
        )
        try:
            page = browser.new_page()
            page.goto(url + "/")
            page.wait_for_function("window.done === true", timeout=15_000)
            received = page.evaluate("window.received")
            opens, errors = page.evaluate("[window.opens, window.errors]")
            ARTIFACTS.mkdir(exist_ok=True)
            page.screenshot(path=str(ARTIFACTS / "browser-eventsource.png"), full_page=True)
        finally:
            browser.close()
        # The page closed its EventSource: the idle second run must end with it.
        wait_for(lambda: all(event.is_set() for event in feed.closed))

    assert received == [[str(n), str(n)] for n in range(1, TOTAL + 1)], "not every event exactly once, in order"
    assert feed.last_event_ids == [None, str(DROP_AFTER)], "the browser did not resume with Last-Event-ID: 7"
    assert opens == 2 and errors >= 1
    # Keep-alives did go out on both connections, as comment lines the page never saw.
    for body in sent:
        assert body.split(b"\n").count(b":") >= 2, body
