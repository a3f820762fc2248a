"""Running an app under uvicorn so that streams hear about shutdown.

uvicorn tells a running response nothing when it is asked to stop, and by default waits for
every stream to end by itself, which an endless event stream never does. The server class
here asks every streamkit response to finish (:func:`request_shutdown`) as soon as the server
is asked to exit; each writes its final frame within its grace period and ends, and the
server exits.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from streamkit._sinks.lines import request_shutdown

if TYPE_CHECKING:
    import uvicorn


def _uvicorn() -> Any:
    try:
        import uvicorn
    except ImportError:
        raise ImportError("streamkit.serve() needs uvicorn: pip install 'streamkit[server]'") from None
    return uvicorn


DEFAULT_SHUTDOWN_TIMEOUT = 10.0
"""Seconds a stopping server waits for connections to close (uvicorn's own default: forever)."""


def server(app: Any, *, host: str = "127.0.0.1", port: int = 8000, **options: Any) -> uvicorn.Server:
    """A ``uvicorn.Server`` for ``app`` whose exit (Ctrl+C, SIGTERM, ``handle_exit``) first asks
    every streamkit response to finish.

    Each response ends within its grace period, but a connection to a client that stopped
    reading cannot close while its unsent bytes wait: such connections are aborted once
    ``timeout_graceful_shutdown`` seconds (default 10, a uvicorn option) have passed.

    >>> srv = server(app, port=8000)        # doctest: +SKIP
    >>> await srv.serve()
    """
    uvicorn = _uvicorn()
    options.setdefault("timeout_graceful_shutdown", DEFAULT_SHUTDOWN_TIMEOUT)

    class StreamkitServer(uvicorn.Server):  # type: ignore[misc, name-defined]
        def handle_exit(self, sig: int, frame: Any) -> None:
            request_shutdown()
            super().handle_exit(sig, frame)

        async def shutdown(self, sockets: Any = None) -> None:
            await super().shutdown(sockets)
            # Still open after the graceful period: clients that stopped reading. close() would
            # wait for them to take the unsent bytes, so the server would never finish.
            for connection in list(self.server_state.connections):
                transport = getattr(connection, "transport", None)
                if transport is not None:
                    transport.abort()

    return StreamkitServer(uvicorn.Config(app, host=host, port=port, **options))


def serve(app: Any, *, host: str = "127.0.0.1", port: int = 8000, **options: Any) -> None:
    """Serve ``app`` with uvicorn until Ctrl+C or SIGTERM; streams end cleanly on the way out.

    Binds 127.0.0.1 unless told otherwise. ``options`` go to ``uvicorn.Config``.

    >>> serve(asgi(events | to_sse(), heartbeat=15), port=8000)   # doctest: +SKIP
    """
    server(app, host=host, port=port, **options).run()
