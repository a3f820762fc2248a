"""An SSE client that reconnects like a browser's EventSource, and reports how it ended.

After a dropped connection it waits (the server's ``retry:``, else ``Reconnect.delay``),
backing off while attempts keep failing, and reconnects with ``Last-Event-ID`` so the server
can resume. It gives up after ``max_attempts`` failures in a row or ``max_elapsed`` seconds;
the run's :class:`Outcome` says whether the stream completed or failed, and with what error.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncGenerator, AsyncIterator
from contextlib import aclosing
from dataclasses import dataclass, field
from typing import Any, Literal

import anyio

from streamkit._core.stream import Stream
from streamkit._core.validate import check_seconds, check_whole
from streamkit._framing.sse import DEFAULT_MAX_EVENT_SIZE, ServerSentEvent, SSEDecoder
from streamkit._http._response import HTTPRequest, opened_response, require_httpx
from streamkit._http._sources import SSE_REQUEST_HEADERS, content_type_of

logger = logging.getLogger("streamkit")

# Statuses worth another try: the server is overloaded or briefly away.
_RETRY_STATUSES = frozenset({408, 425, 429, 500, 502, 503, 504})


class GaveUpError(Exception):
    """Reconnecting stopped; ``__cause__`` is the last connection's error."""


@dataclass(frozen=True)
class Reconnect:
    """How :func:`streamkit.http.sse` reconnects after a dropped connection.

    The wait before a reconnect is the server's ``retry:`` (else ``delay``) seconds, times
    ``backoff`` for each further failure in a row, at most ``max_delay``. A connection that
    delivers an event resets the count. Gives up after ``max_attempts`` failures in a row
    (None: never) or once ``max_elapsed`` seconds have passed since the run started.
    ``raise_on_failure``: giving up raises (the last error, wrapped in :class:`GaveUpError`)
    after the outcome is recorded; False ends the stream quietly and leaves it to
    :attr:`EventSource.outcome`.

    >>> Reconnect(delay=0.5, max_attempts=10, max_elapsed=120)   # doctest: +SKIP
    """

    delay: float = 1.0
    backoff: float = 2.0
    max_delay: float = 30.0
    max_attempts: int | None = 5
    max_elapsed: float | None = None
    raise_on_failure: bool = True

    def __post_init__(self) -> None:
        check_seconds("Reconnect(delay=...)", self.delay)
        check_seconds("Reconnect(max_delay=...)", self.max_delay)
        if isinstance(self.backoff, bool) or not isinstance(self.backoff, int | float) or self.backoff < 1:
            raise ValueError(f"Reconnect(backoff=...) must be a number >= 1, got {self.backoff!r}")
        if self.max_attempts is not None:
            check_whole("Reconnect(max_attempts=...)", self.max_attempts)
        if self.max_elapsed is not None:
            check_seconds("Reconnect(max_elapsed=...)", self.max_elapsed, allow_inf=True)

    def wait(self, failures: int, retry_ms: int | None) -> float:
        """Seconds before the next attempt, after ``failures`` failed connections in a row."""
        base = self.delay if retry_ms is None else retry_ms / 1000
        return float(min(self.max_delay, base * self.backoff ** max(0, failures - 1)))


Status = Literal["running", "completed", "failed", "stopped"]


@dataclass
class Outcome:
    """How one run of an :class:`EventSource` ended.

    ``status``: ``"running"``, then ``"completed"`` (the server ended the stream, sent the
    ``until`` sentinel, or answered a reconnect with 204), ``"failed"`` (``error`` says why),
    or ``"stopped"`` (the consumer ended the run first).
    """

    status: Status = "running"
    error: BaseException | None = None
    connections: int = 0
    """Connections opened (1 + reconnects)."""
    events: int = 0
    last_event_id: str = ""
    reconnect_waits: list[float] = field(default_factory=list)
    """Seconds waited before each reconnect, in order."""

    @property
    def completed(self) -> bool:
        return self.status == "completed"

    @property
    def failed(self) -> bool:
        return self.status == "failed"


class _Completed(Exception):
    """The server told us not to reconnect."""


class EventSource(Stream[ServerSentEvent]):
    """A stream of the events of a reconnecting SSE connection; :attr:`outcome` tells how it ended.

    Each iteration is a fresh run (a new connection) with its own :class:`Outcome`;
    :attr:`outcome` is the latest run's.

    >>> source = http.sse(url, reconnect=http.Reconnect(max_attempts=3, raise_on_failure=False))   # doctest: +SKIP
    >>> async for event in source:
    ...     print(event.data)
    >>> source.outcome.status          # "completed" or "failed" (then source.outcome.error)
    """

    __slots__ = ("_outcome",)

    def __init__(
        self,
        request: HTTPRequest,
        reconnect: Reconnect,
        *,
        last_event_id: str = "",
        until: str | None = None,
        max_event_size: int | None = DEFAULT_MAX_EVENT_SIZE,
    ) -> None:
        self._outcome = Outcome(status="stopped")

        def open_run() -> AsyncIterator[ServerSentEvent]:
            outcome = Outcome(last_event_id=last_event_id)
            self._outcome = outcome
            return _run(request, reconnect, outcome, until, max_event_size)

        super().__init__(open_run)

    @property
    def outcome(self) -> Outcome:
        """The latest run's outcome (``"stopped"`` before any run)."""
        return self._outcome


async def _run(
    request: HTTPRequest, reconnect: Reconnect, outcome: Outcome, until: str | None, max_event_size: int | None
) -> AsyncIterator[ServerSentEvent]:
    httpx = require_httpx(request.function)
    decoder = SSEDecoder(max_event_size=max_event_size)
    decoder.last_event_id = outcome.last_event_id
    started = anyio.current_time()
    failures = 0
    try:
        while True:
            error: BaseException
            try:
                async with aclosing(_connection(httpx, request, decoder, outcome)) as events:
                    async for event in events:
                        failures = 0
                        outcome.events += 1
                        if until is not None and event.data == until:
                            outcome.status = "completed"
                            return
                        yield event
                outcome.status = "completed"  # the server ended the response cleanly
                return
            except _Completed:
                outcome.status = "completed"
                return
            except httpx.HTTPStatusError as status_error:
                if status_error.response.status_code not in _RETRY_STATUSES:
                    outcome.status, outcome.error = "failed", status_error
                    break
                error = status_error
            except (httpx.TransportError, httpx.StreamError) as transport_error:
                error = transport_error
            failures += 1
            wait = reconnect.wait(failures, decoder.retry)
            elapsed = anyio.current_time() - started
            if reconnect.max_attempts is not None and failures > reconnect.max_attempts:
                outcome.status, outcome.error = "failed", error
                break
            if reconnect.max_elapsed is not None and elapsed + wait > reconnect.max_elapsed:
                outcome.status, outcome.error = "failed", error
                break
            logger.info("SSE connection to %s lost (%r); reconnecting in %.3g s", request.url, error, wait)
            outcome.reconnect_waits.append(wait)
            await anyio.sleep(wait)
    finally:
        if outcome.status == "running":
            outcome.status = "stopped"
    if reconnect.raise_on_failure and outcome.error is not None:
        raise GaveUpError(
            f"gave up on {request.url} after {outcome.connections} connection(s): {outcome.error!r}"
        ) from outcome.error


async def _connection(
    httpx: Any, request: HTTPRequest, decoder: SSEDecoder, outcome: Outcome
) -> AsyncGenerator[ServerSentEvent, None]:
    headers = dict(SSE_REQUEST_HEADERS)
    if decoder.last_event_id:
        headers["last-event-id"] = decoder.last_event_id
    outcome.connections += 1
    async with opened_response(request, headers) as response:
        if response.status_code == 204:
            raise _Completed  # the server's way to say: do not reconnect
        kind = content_type_of(response)
        if kind != "text/event-stream":
            raise httpx.HTTPStatusError(
                f"{request.url} answered with Content-Type {kind!r}, not text/event-stream",
                request=response.request,
                response=response,
            )
        async with aclosing(response.aiter_bytes()) as chunks:
            try:
                async for chunk in chunks:
                    for event in decoder.feed(chunk):
                        outcome.last_event_id = decoder.last_event_id
                        yield event
            finally:
                decoder.flush()  # an event cut off by the drop is dropped, as browsers do
