"""The one protocol every sink uses: run a stream, write its frames, close the run.

A sink is anything with ``async def write(self, data: bytes) -> None``. :func:`deliver` does
the rest, the same way for ASGI, WSGI, files and user sinks: it reads the stream in a
background task, so that a slow sink lets ready frames pile up and be joined into one write
(bounded by ``max_chunk``), writes keep-alive bytes while the stream is idle, frames an error
that happens after the first write, and closes the run however delivery ends.
"""

from __future__ import annotations

import logging
from functools import partial
from collections.abc import AsyncIterable, Callable
from typing import Any, Protocol

import anyio

from streamkit._core.closing import describe
from streamkit._core.mailbox import Mailbox, forward
from streamkit._core.marks import Framing
from streamkit._core.tasks import Pumps
from streamkit._core.validate import check_positive_int, check_seconds
from streamkit._sinks.lines import Line, open_line

logger = logging.getLogger("streamkit")

DEFAULT_MAX_CHUNK = 64 * 1024
DEFAULT_READ_AHEAD = 16
"""Frames the stream may run ahead of a slow sink: enough to join writes, bounded in memory."""


class Sink(Protocol):
    """Where frames go. Raise from ``write`` when the other side has gone away.

    A sink may also have ``write_nowait(data: bytes) -> bool``: write at once without
    waiting, or return False having written nothing. The heartbeat timer then uses it for
    keep-alives, which makes them cheaper than a ``write`` coroutine (the ASGI sink has one).

    >>> class WebSocketSink:                           # doctest: +SKIP
    ...     def __init__(self, ws):
    ...         self.ws = ws
    ...     async def write(self, data: bytes) -> None:
    ...         await self.ws.send_bytes(data)
    >>> await deliver(stream | to_ndjson(), WebSocketSink(ws), heartbeat=15)
    """

    async def write(self, data: bytes, /) -> None: ...


class Delivery:
    """How one delivery ended: frames and bytes written, and the stream's error, if any.

    (Passed as ``report=``, it fills in as the delivery goes; keep-alives written while the
    stream is idle are counted when it next moves, or ends.)

    >>> result = await deliver(stream | to_ndjson(), sink)   # doctest: +SKIP
    >>> result.frames, result.bytes, result.error
    """

    __slots__ = ("frames", "bytes", "writes", "error", "stopped", "cut")

    def __init__(self) -> None:
        self.frames = 0
        self.bytes = 0
        self.writes = 0
        self.error: BaseException | None = None
        self.stopped = False
        """True when :func:`request_shutdown` ended the delivery."""
        self.cut = False
        """True when, after :func:`request_shutdown`, the sink did not take what was left (a
        client that stopped reading) within the grace period: the response is incomplete."""

    @property
    def started(self) -> bool:
        """True once anything (a frame or a keep-alive) was written."""
        return self.writes > 0


async def deliver(
    stream: AsyncIterable[Any],
    sink: Sink,
    *,
    heartbeat: float | None = None,
    keepalive: bytes | None = None,
    on_error: Callable[[BaseException], bytes | None] | None = None,
    final: bytes | None = None,
    grace: float = 5.0,
    max_chunk: int = DEFAULT_MAX_CHUNK,
    read_ahead: int = DEFAULT_READ_AHEAD,
    report: Delivery | None = None,
) -> Delivery:
    """Write every frame of ``stream`` to ``sink``; return how it went.

    - ``heartbeat``: seconds of silence after which ``keepalive`` bytes are written (from the
      stream's framing when not given: ``b":\\n"`` for SSE, ``b"\\n"`` for NDJSON).
    - An error of the stream *before* anything was written is raised, so a server can still
      answer 500. After that it is logged once with its traceback, framed by ``on_error``
      (default: the framing's error frame) and written, and delivery ends normally.
    - Errors of the sink itself (the client went away) are raised; the run is closed first.
    - ``final``: bytes written, within ``grace`` seconds, when :func:`request_shutdown` ends
      the delivery. Whatever happens, the delivery ends within ``grace`` seconds of that
      request: a write that a client does not take in time is cancelled (``Delivery.cut``).

    Items must be ``bytes`` (or ``str``, sent as UTF-8): end the pipeline with a framing step
    such as ``to_sse()`` or ``to_ndjson()``.

    >>> await deliver(tokens | to_sse(), WebSocketSink(ws), heartbeat=15)   # doctest: +SKIP
    """
    framing: Framing | None = getattr(stream, "framing", None)
    if keepalive is None and framing is not None:
        keepalive = framing.keepalive
    if heartbeat is not None:
        check_seconds("heartbeat", heartbeat, allow_zero=False)
        if keepalive is None:
            raise ValueError(
                "heartbeat= needs keep-alive bytes: end the pipeline with a framing step "
                "(to_sse(), to_ndjson()) or pass keepalive="
            )
    if on_error is None and framing is not None:
        on_error = framing.encode_error
    check_positive_int("max_chunk", max_chunk)
    result = report if report is not None else Delivery()

    pumps = Pumps()
    box: Mailbox[Any] = Mailbox(check_positive_int("read_ahead", read_ahead))
    pumps.start(forward, stream, box)
    line = open_line(box, heartbeat)
    if keepalive is not None:
        line.keepalive = partial(_write_keepalive, sink, keepalive, result)
        # Called with the keep-alive by the wheel, which counts what it wrote on the line: one
        # call and no other object touched per heartbeat, for thousands of idle connections.
        line.keepalive_nowait = getattr(sink, "write_nowait", None)
        line.keepalive_data = keepalive
    try:
        # Only a shutdown sets a deadline here: then the delivery, a write blocked on a client
        # that stopped reading included, must end within the grace period.
        with anyio.CancelScope() as delivery:
            line.on_stop = partial(_end_within, delivery, line, grace)
            while True:
                # Checked before every write, not only when idle: a source that is always ahead
                # of its client would otherwise never let the stop be seen.
                if line.stopping:
                    result.stopped = True
                    await _write_final(sink, final, delivery.deadline, result)
                    return result
                if not box.ready:
                    if await _heartbeat_work(line, sink, keepalive, result):
                        continue
                    # Idle: the heartbeat wheel may write a keep-alive itself meanwhile.
                    line.idle = True
                    await box.wait()
                    line.idle = False
                    _count_keepalives(line, result)
                    continue
                try:
                    frame = box.get_nowait()
                except anyio.EndOfStream:
                    break
                except Exception as error:
                    await _fail(error, sink, on_error, result)
                    return result
                # Join every frame that is already waiting into one write.
                data = frame if type(frame) is bytes else _as_bytes(frame)
                frames = 1
                if box.has_items:
                    parts = [data]
                    size = len(data)
                    while size < max_chunk:
                        try:
                            more = box.get_nowait()
                        except Exception:
                            # The end, or an error: the next turn meets it again, after these frames.
                            break
                        more = more if type(more) is bytes else _as_bytes(more)
                        parts.append(more)
                        size += len(more)
                    data = b"".join(parts)
                    frames = len(parts)
                result.frames += frames
                await _write(sink, data, result, line)
        if delivery.cancelled_caught:
            # The grace period ran out with a write still blocked: the client stopped reading.
            result.stopped = result.cut = True
            return result
        pumps.raise_error()
        return result
    finally:
        line.close()
        _count_keepalives(line, result)
        box.abandon()
        await pumps.aclose()


async def _heartbeat_work(line: Line, sink: Sink, keepalive: bytes | None, result: Delivery) -> bool:
    """Do what the heartbeat wheel left for the writer; True if there was something."""
    if line.failed is not None:
        raise line.failed
    if line.suspended is not None:
        suspended, line.suspended = line.suspended, None
        await suspended.finish()
        return True
    if line.beat_due:
        line.beat_due = False
        await _write(sink, keepalive, result, line)  # type: ignore[arg-type]
        return True
    return False


def _count_keepalives(line: Line, result: Delivery) -> None:
    """Add the keep-alives the wheel wrote while the writer was idle to its report."""
    written, line.keepalives = line.keepalives, 0
    result.writes += written
    result.bytes += written * len(line.keepalive_data)


async def _write_keepalive(sink: Sink, keepalive: bytes, result: Delivery) -> None:
    # Run by the heartbeat wheel, often outside any task (see stepping.py).
    await sink.write(keepalive)
    result.writes += 1
    result.bytes += len(keepalive)


async def _write(sink: Sink, data: bytes, result: Delivery, line: Any) -> None:
    await sink.write(data)
    result.writes += 1
    result.bytes += len(data)
    line.wrote()


def _end_within(delivery: anyio.CancelScope, line: Line, grace: float) -> None:
    delivery.deadline = min(delivery.deadline, line.now() + grace)


async def _write_final(sink: Sink, final: bytes | None, deadline: float, result: Delivery) -> None:
    if final:
        # Shielded but bounded: a client that stopped reading must not hold up shutdown.
        with anyio.CancelScope(shield=True, deadline=deadline) as scope:
            await sink.write(final)
            result.writes += 1
            result.bytes += len(final)
        result.cut = scope.cancelled_caught


async def _fail(
    error: Exception, sink: Sink, on_error: Callable[[BaseException], bytes | None] | None, result: Delivery
) -> None:
    result.error = error
    if not result.started:
        raise error
    logger.error("the stream failed after the response started; ending it", exc_info=error)
    frame = on_error(error) if on_error is not None else None
    if frame:
        await sink.write(frame)
        result.writes += 1
        result.bytes += len(frame)


def _as_bytes(frame: object) -> bytes:
    if isinstance(frame, str):
        return frame.encode()
    if isinstance(frame, bytes | bytearray | memoryview):
        return bytes(frame)
    raise TypeError(
        f"a sink writes bytes or str, but the stream gave {describe(frame)}; "
        "end the pipeline with a framing step such as to_sse() or to_ndjson()"
    )

