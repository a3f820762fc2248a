"""A Starlette ``Response`` that streams through :func:`streamkit.asgi`, to return from a route.

Starlette and FastAPI send whatever ``Response`` a route returns; FastAPI serializes anything
else as JSON. Mounting ``asgi(...)`` needs no Starlette at all; this class is for routes, where
path parameters, dependencies and authentication have already run.

Importing this module imports Starlette, so streamkit imports it only on first use.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from functools import partial

try:
    from starlette.background import BackgroundTask
    from starlette.responses import Response
    from starlette.types import Receive, Scope, Send
except ImportError:  # pragma: no cover - depends on what is installed
    raise ImportError("streamkit.StreamResponse needs Starlette: pip install 'streamkit[starlette]'") from None

from streamkit._sinks.asgi import ASGIApp, asgi
from streamkit._sinks.deliver import DEFAULT_MAX_CHUNK
from streamkit._sinks.source import StreamSource, check_source


class StreamResponse(Response):
    """Stream ``source`` as this route's response, with everything :func:`asgi` guarantees:
    protocol headers from the framing, heartbeats, a framed error, and the source closed when
    the client goes away (Starlette's ``StreamingResponse`` never closes its iterator).

    ``status_code``, ``headers``, ``media_type`` and ``background`` work as on any Starlette
    response (FastAPI may still set them after the route returns); the other options are
    :func:`asgi`'s.

    >>> @app.get("/chat")                                       # doctest: +SKIP
    ... async def chat(q: str) -> StreamResponse:
    ...     return StreamResponse(answer(q) | to_sse(), heartbeat=15)
    """

    def __init__(
        self,
        source: StreamSource,
        *,
        status_code: int = 200,
        headers: Mapping[str, str] | None = None,
        media_type: str | None = None,
        background: BackgroundTask | None = None,
        heartbeat: float | None = None,
        on_error: Callable[[BaseException], bytes | None] | None = None,
        final: bytes | None = None,
        grace: float = 5.0,
        max_chunk: int = DEFAULT_MAX_CHUNK,
    ) -> None:
        check_source(source, "StreamResponse")
        self.source = source
        self.status_code = status_code
        self.media_type = media_type
        self.background = background
        self.raw_headers = [(name.lower().encode("latin-1"), value.encode("latin-1")) for name, value in (headers or {}).items()]
        self._make = partial(asgi, heartbeat=heartbeat, on_error=on_error, final=final, grace=grace, max_chunk=max_chunk)
        self._app()  # bad options fail here, in the route, not after the response was handed over

    def _app(self) -> ASGIApp:
        # Built when sent, so that a status or header set after construction is honoured.
        extra = {name.decode("latin-1"): value.decode("latin-1") for name, value in self.raw_headers}
        return self._make(self.source, status=self.status_code, media_type=self.media_type, headers=extra)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self._app()(scope, receive, send)
        if self.background is not None:
            await self.background()
