"""Pipe steps that frame items into bytes, and parse bytes back into items.

Each step is a thin async shell around a sync incremental codec (``sse.py``, ``ndjson.py``,
``text.py``), so the codecs are testable without an event loop. Encoders are fused stages (no
extra generator hop per item) and mark their stream with its media type and keep-alive bytes,
so a sink needs no media-type argument: ``asgi(stream | to_sse())``.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import AsyncIterable, AsyncIterator, Callable, Iterable, Iterator
from typing import Any, Literal, Protocol, TypeVar, overload, runtime_checkable

from streamkit._core.closing import opened
from streamkit._core.fusion import Kind, Stage
from streamkit._core.marks import Framing
from streamkit._core.stream import Step, Stream, as_stream, generator_step
from streamkit._core.validate import check_callable, check_whole
from streamkit._framing.errors import FramingError, NDJSONError
from streamkit._framing.ndjson import NDJSONDecoder, encode_ndjson
from streamkit._framing.sse import (
    DEFAULT_MAX_EVENT_SIZE,
    ServerSentEvent,
    SSEDecoder,
    data_encoder,
    encode_event,
    numbered_data_encoder,
)
from streamkit._framing.text import DEFAULT_MAX_LINE_SIZE, LineDecoder, TextDecoder, TextEncoder
from streamkit._sources.iterables import just
from streamkit._ops.combine import chain

T = TypeVar("T")

Dumps = Callable[[Any], str | bytes]


@runtime_checkable
class SupportsSSE(Protocol):
    """An item that knows its own SSE form (a broker message: its id becomes the event id).

    >>> class Price:                                 # doctest: +SKIP
    ...     def __sse__(self) -> ServerSentEvent:
    ...         return ServerSentEvent(json.dumps(self.cents), event="price", id=self.seq)
    """

    def __sse__(self) -> ServerSentEvent: ...


def _error_frame_sse(error: BaseException) -> bytes:
    # Only the type crosses to the client: an exception's text may hold internals.
    return encode_event(json.dumps({"error": type(error).__name__}), event="error")


def _error_frame_ndjson(error: BaseException) -> bytes:
    return encode_ndjson({"error": type(error).__name__})


SSE_FRAMING = Framing(
    media_type="text/event-stream; charset=utf-8",
    keepalive=b":\n",  # a comment line: never a blank line, which would end an event block
    encode_error=_error_frame_sse,
)
NDJSON_FRAMING = Framing(media_type="application/x-ndjson", keepalive=b"\n", encode_error=_error_frame_ndjson)


def to_sse(
    *,
    event: str | None = None,
    ids: bool = False,
    first_id: int = 1,
    retry: int | None = None,
    done: str | ServerSentEvent | None = None,
    dumps: Dumps = json.dumps,
) -> Step[Any, bytes]:
    """Frame items as Server-Sent Events.

    Each item becomes one event: a :class:`ServerSentEvent` as it is; a ``str`` as the data;
    ``bytes`` pass through as already framed; an object with ``__sse__()`` (a broker
    message) as the event it returns; anything else as its JSON (``dumps``).

    - ``event``: the event name for items that name none.
    - ``ids=True``: number real events ``first_id``, ``first_id + 1``, ... in every run, so a
      client can resume with ``Last-Event-ID``; comment-only events (heartbeats) get none.
    - ``retry``: milliseconds before a browser reconnects, sent with the first event (never
      in a block of its own, which some clients dispatch as an empty event).
    - ``done``: a last event after the source ends, e.g. ``"[DONE]"`` for OpenAI clients.

    >>> app = asgi(tokens | to_sse(ids=True, done="[DONE]"), heartbeat=15)   # doctest: +SKIP
    """
    if event is not None:
        ServerSentEvent("", event=event)  # validates the name once
    if retry is not None:
        ServerSentEvent("", retry=retry)
    check_whole("first_id", first_id)
    check_callable("dumps", dumps)
    closing = done if isinstance(done, ServerSentEvent) or done is None else ServerSentEvent(done, event=event)

    def make() -> Callable[[Any], bytes]:
        numbers = itertools.count(first_id) if ids else None
        plain, numbered = data_encoder(event), numbered_data_encoder(event)
        pending_retry = retry

        def data_frame(data: str) -> bytes:
            nonlocal pending_retry
            if pending_retry is not None:
                first_retry, pending_retry = pending_retry, None
                number = None if numbers is None else str(next(numbers))
                return encode_event(data, event=event, id=number, retry=first_retry)
            return plain(data) if numbers is None else numbered(data, next(numbers))

        def event_frame(sse: ServerSentEvent) -> bytes:
            nonlocal pending_retry
            if sse.comment is not None and not sse.data and sse.event is None and sse.id is None and sse.retry is None:
                return sse.encode()  # a heartbeat: it carries no id, event or retry
            number = sse.id if sse.id is not None or numbers is None else str(next(numbers))
            first_retry = sse.retry if sse.retry is not None else pending_retry
            pending_retry = None
            name = sse.event if sse.event is not None else event
            return encode_event(sse.data, event=name, id=number, retry=first_retry, comment=sse.comment)

        def frame(item: Any) -> bytes:
            kind = type(item)
            if kind is str:
                return data_frame(item)
            if kind is bytes:
                return item  # type: ignore[no-any-return]
            if kind is ServerSentEvent:
                return event_frame(item)
            if isinstance(item, SupportsSSE):
                return event_frame(item.__sse__())
            dumped = dumps(item)
            return data_frame(dumped.decode() if isinstance(dumped, bytes) else dumped)

        return frame

    def apply(source: AsyncIterable[Any]) -> Stream[bytes]:
        framed: Stream[bytes] = as_stream(source).then(Stage(Kind.MAP, make))
        if closing is not None:
            framed = framed | chain(just(closing.encode()))
        return framed.framed(SSE_FRAMING)

    return apply


@overload
def parse_sse(*, until: str | None = None, json: Literal[False] = False, max_event_size: int | None = ...) -> Step[Any, ServerSentEvent]: ...
@overload
def parse_sse(*, until: str | None = None, json: Literal[True], max_event_size: int | None = ...) -> Step[Any, Any]: ...
def parse_sse(*, until: str | None = None, json: bool = False, max_event_size: int | None = DEFAULT_MAX_EVENT_SIZE) -> Step[Any, Any]:
    """Parse ``bytes`` or ``str`` chunks as an event stream, exactly as browsers do.

    Yields :class:`ServerSentEvent` (``event`` is ``"message"`` when none was sent, ``id`` the
    last event ID in effect). ``until``: stop, closing the source, at an event whose data is
    this sentinel (``"[DONE]"``). ``json=True``: yield each event's data decoded as JSON.

    >>> async for event in response_bytes | parse_sse(until="[DONE]"):    # doctest: +SKIP
    ...     print(event.data)
    """
    import json as json_module

    loads = json_module.loads

    async def parse(source: AsyncIterable[Any]) -> AsyncIterator[Any]:
        decoder = SSEDecoder(max_event_size=max_event_size)
        async with opened(source) as chunks:
            async for chunk in chunks:
                for parsed in _fed(decoder, chunk):
                    if until is not None and parsed.data == until:
                        return
                    yield loads(parsed.data) if json else parsed

    return generator_step(parse)


def to_ndjson(*, dumps: Dumps = json.dumps) -> Step[Any, bytes]:
    """Frame every item as one line of JSON (``application/x-ndjson``).

    >>> await (iterate([{"a": 1}]) | to_ndjson()).list()      # doctest: +SKIP
    [b'{"a": 1}\\n']
    """
    check_callable("dumps", dumps)

    def make() -> Callable[[Any], bytes]:
        return lambda item: encode_ndjson(item, dumps)

    def apply(source: AsyncIterable[Any]) -> Stream[bytes]:
        return as_stream(source).then(Stage(Kind.MAP, make)).framed(NDJSON_FRAMING)

    return apply


def parse_ndjson(
    *,
    loads: Callable[[str | bytes], Any] = json.loads,
    on_error: Literal["raise", "skip"] | Callable[[NDJSONError], object] = "raise",
    max_line_size: int | None = DEFAULT_MAX_LINE_SIZE,
) -> Step[Any, Any]:
    """Parse ``bytes`` or ``str`` chunks as newline-delimited JSON, one value per line.

    Blank lines are skipped. A malformed line raises :class:`NDJSONError` naming its line
    number, or with ``on_error="skip"`` (logged) or a function (called with the error) is
    skipped.

    >>> async for record in from_file("events.ndjson", "bytes") | parse_ndjson():   # doctest: +SKIP
    ...     ...
    """
    return _decoding(lambda: NDJSONDecoder(loads=loads, on_error=on_error, max_line_size=max_line_size))


def lines(*, max_line_size: int | None = DEFAULT_MAX_LINE_SIZE) -> Step[str, str]:
    """Split ``str`` chunks into lines (without their ends), across chunk boundaries.

    LF, CRLF and CR all end a line, also when a CR ends one chunk and LF starts the next.
    A last line without an end is emitted when the source ends.

    >>> await (iterate(["a\\nb", "c\\r\\n"]) | lines()).list()     # doctest: +SKIP
    ['a', 'bc']
    """
    return _decoding(lambda: LineDecoder(max_line_size=max_line_size))


def decode(encoding: str = "utf-8", errors: str = "strict") -> Step[bytes, str]:
    """Decode ``bytes`` chunks to ``str``, incrementally: a character split across chunks is kept whole.

    >>> await (iterate([b"\\xc3", b"\\xa9"]) | decode()).list()  # doctest: +SKIP
    ['é']
    """
    return _decoding(lambda: _Nonempty(TextDecoder(encoding, errors)))


def encode(encoding: str = "utf-8", errors: str = "strict") -> Step[str, bytes]:
    """Encode ``str`` items to ``bytes``; the stream is marked ``text/plain`` for sinks.

    >>> app = asgi(log_lines | map(lambda s: s + "\\n") | encode())   # doctest: +SKIP
    """
    TextEncoder(encoding, errors)  # validates the codec name now
    framing = Framing(media_type=f"text/plain; charset={encoding}")

    def make() -> Callable[[Any], bytes]:
        encoder = TextEncoder(encoding, errors)
        return encoder.feed

    def apply(source: AsyncIterable[Any]) -> Stream[bytes]:
        return as_stream(source).then(Stage(Kind.MAP, make)).framed(framing)

    return apply


class _PartialThenError:
    """Items a decoder produced before bad input, then the error: nothing decoded is lost."""

    def __init__(self, error: FramingError) -> None:
        self.error = error

    def __iter__(self) -> Iterator[Any]:
        yield from self.error.partial
        raise self.error


def _fed(decoder: _Decoder, chunk: Any) -> Iterable[Any]:
    try:
        return decoder.feed(chunk)
    except FramingError as error:
        return _PartialThenError(error)


class _Nonempty:
    """Adapts a text decoder to the feed-returns-a-list shape, dropping empty pieces."""

    def __init__(self, decoder: TextDecoder) -> None:
        self._decoder = decoder

    def feed(self, chunk: Any) -> list[str]:
        text = self._decoder.feed(chunk)
        return [text] if text else []

    def flush(self) -> list[str]:
        text = self._decoder.flush()
        return [text] if text else []


class _Decoder(Protocol):
    def feed(self, chunk: Any, /) -> list[Any]: ...
    def flush(self) -> list[Any]: ...


def _decoding(make: Callable[[], _Decoder]) -> Step[Any, Any]:
    make()  # validates the options now, at construction

    async def decoded(source: AsyncIterable[Any]) -> AsyncIterator[Any]:
        decoder = make()
        async with opened(source) as chunks:
            async for chunk in chunks:
                for item in _fed(decoder, chunk):
                    yield item
        for item in decoder.flush():
            yield item

    return generator_step(decoded)


