"""``python -m streamkit demo``: one ASGI app serving a page and four live pipelines.

The page (inline HTML and JS, nothing fetched from the network) opens an ``EventSource`` for
each SSE pipeline and reads the NDJSON one with ``fetch``'s streaming reader. While the app
runs (its ASGI lifespan), a pipeline writes log records to a temporary file, which ``/log``
tails: a real file source following a real file.
"""

from __future__ import annotations

import contextlib
import socket
import tempfile
from collections.abc import Awaitable, Callable, MutableMapping
from pathlib import Path
from typing import Any

import anyio

import streamkit as sk
from streamkit._cli.page import render_page
from streamkit._cli.pipelines import heartbeat_events, llm_events, log_records, sensor_events, tail_events

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]

KEEPALIVE = 15.0
"""Seconds of silence before a sink writes an invisible keep-alive."""


class DemoApp:
    """The demo as an ASGI application. The log file is written only while its lifespan runs
    (uvicorn's default), into ``log_dir`` or a temporary directory.

    >>> sk.serve(DemoApp(), port=8000)   # doctest: +SKIP
    """

    def __init__(self, log_dir: str | Path | None = None) -> None:
        self._log_dir = Path(log_dir) if log_dir is not None else None
        self.log_path: Path | None = None
        self._routes: dict[str, Callable[[Scope, Receive, Send], Awaitable[None]]] = {
            "/llm": sk.asgi(lambda request: llm_events(), heartbeat=KEEPALIVE),
            "/sensor": sk.asgi(lambda request: sensor_events(), heartbeat=KEEPALIVE),
            "/log": sk.asgi(self._tail, heartbeat=KEEPALIVE),
            "/heartbeat": sk.asgi(lambda request: heartbeat_events(), heartbeat=KEEPALIVE),
        }

    def _tail(self, request: sk.Request) -> sk.Stream[bytes]:
        if self.log_path is None:
            raise RuntimeError("the demo's log file exists only while the app's lifespan runs")
        return tail_events(self.log_path)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        route = self._routes.get(scope["path"])
        if route is not None:
            await route(scope, receive, send)
            return
        if scope["path"] == "/":
            status, content_type, body = 200, b"text/html; charset=utf-8", render_page().encode()
        else:
            status, content_type, body = 404, b"text/plain; charset=utf-8", b"not found\n"
        await send({"type": "http.response.start", "status": status, "headers": [(b"content-type", content_type)]})
        await send({"type": "http.response.body", "body": body})

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        with contextlib.ExitStack() as cleanup:
            directory = self._log_dir
            if directory is None:
                directory = Path(cleanup.enter_context(tempfile.TemporaryDirectory(prefix="streamkit-demo-")))
            self.log_path = directory / "demo.log"
            self.log_path.touch()
            async with anyio.create_task_group() as tasks:
                await receive()  # lifespan.startup
                tasks.start_soon(sk.write_file, log_records(), self.log_path)
                await send({"type": "lifespan.startup.complete"})
                await receive()  # lifespan.shutdown
                tasks.cancel_scope.cancel()
            await send({"type": "lifespan.shutdown.complete"})


def listening_socket(port: int) -> socket.socket:
    """Bind and listen on 127.0.0.1 first, so the printed URL is right (port 0: a free port)
    and already accepts connections."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind(("127.0.0.1", port))
    except OSError as error:
        sock.close()
        raise SystemExit(f"streamkit demo: cannot listen on 127.0.0.1:{port} ({error.strerror}); try --port") from None
    sock.listen(128)
    return sock


def run_demo(port: int) -> int:
    """Serve the demo until Ctrl+C or SIGTERM; every stream ends cleanly on the way out."""
    try:
        import uvicorn  # noqa: F401
    except ImportError:
        raise SystemExit("python -m streamkit demo needs uvicorn: pip install 'streamkit[demo]'") from None
    sock = listening_socket(port)
    url = f"http://127.0.0.1:{sock.getsockname()[1]}/"
    server = sk.server(DemoApp(), log_level="warning", timeout_graceful_shutdown=10)
    print(f"streamkit demo: open {url}  (Ctrl+C to stop)", flush=True)
    try:
        server.run(sockets=[sock])
    except KeyboardInterrupt:
        # uvicorn re-raises the signal it handled once it has shut down cleanly.
        pass
    finally:
        sock.close()
    print("streamkit demo: stopped", flush=True)
    return 0
