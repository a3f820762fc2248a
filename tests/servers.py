"""Real servers on 127.0.0.1 for streaming tests: uvicorn (ASGI) and waitress/wsgiref (WSGI).

httpx's ASGITransport buffers whole bodies, so streaming, timing and disconnect behaviour is
only visible through a real server and a real socket.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def uvicorn_server(app: Any, **config: Any) -> Iterator[str]:
    """Serve ``app`` with uvicorn in a background thread; yield its base URL."""
    import uvicorn

    # h11 unless a test asks for httptools: "auto" would pick httptools wherever it is installed.
    settings: dict[str, Any] = {"host": "127.0.0.1", "port": free_port(), "log_level": "warning", "lifespan": "off", "http": "h11"}
    settings.update(config)
    with in_thread(uvicorn.Server(uvicorn.Config(app, **settings))):
        yield f"http://127.0.0.1:{settings['port']}"


@contextlib.contextmanager
def in_thread(server: Any) -> Iterator[None]:
    """Run a ``uvicorn.Server`` (or ``streamkit.server()``) in a background thread while inside."""
    thread = threading.Thread(target=server.run, name="uvicorn-test", daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.01)
    try:
        yield
    finally:
        server.should_exit = True
        thread.join(10)
        if thread.is_alive():
            raise RuntimeError("uvicorn did not stop within 10 s")


def wait_for(condition: Callable[[], bool], timeout: float = 5.0, interval: float = 0.005) -> float:
    """Poll ``condition`` until true; return the seconds it took. Raises on timeout."""
    start = time.monotonic()
    while not condition():
        if time.monotonic() - start > timeout:
            raise AssertionError(f"condition not met within {timeout} s")
        time.sleep(interval)
    return time.monotonic() - start


@contextlib.contextmanager
def wsgi_server(app: Any, kind: str = "waitress") -> Iterator[str]:
    """Serve a WSGI ``app`` with waitress or werkzeug in a background thread; yield its base URL."""
    port = free_port()
    if kind == "waitress":
        import waitress

        server: Any = waitress.create_server(app, host="127.0.0.1", port=port, threads=8, clear_untrusted_proxy_headers=True)
        stopping = threading.Event()

        def run_waitress() -> None:
            # waitress's close() is not safe from another thread while its loop polls, so
            # the loop runs here in short turns and closes itself when asked to stop.
            while not stopping.is_set():
                server.asyncore.loop(timeout=0.05, map=server._map, count=1)
            server.task_dispatcher.shutdown()
            for channel in list(server._map.values()):  # the listener, the trigger, connections
                channel.close()

        thread = threading.Thread(target=run_waitress, name="waitress-test", daemon=True)
        stop = stopping.set
    elif kind == "werkzeug":
        from werkzeug.serving import make_server

        server = make_server("127.0.0.1", port, app, threaded=True)
        thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, name="werkzeug-test", daemon=True)
        stop = server.shutdown
    else:
        raise ValueError(kind)
    thread.start()
    deadline = time.monotonic() + 10
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            break
        except OSError:
            if time.monotonic() > deadline:
                raise RuntimeError(f"{kind} did not start") from None
            time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        stop()
        thread.join(10)
