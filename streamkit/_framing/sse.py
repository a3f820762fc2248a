"""Server-Sent Events: the event type, encoders and an incremental decoder.

Everything here is synchronous and loop-free; the async ``to_sse`` /
``parse_sse`` steps are thin wrappers around it.

Wire format written by the encoders (LF line ends, one space after each
colon so that values starting with a space survive the parser's one-space
strip)::

    : comment line          (only if comment is set)
    event: name             (only if event is set)
    id: 42                  (only if id is set)
    retry: 3000             (only if retry is set)
    data: first line
    data: second line
    <blank line>

Parsing follows the WHATWG HTML standard, sections "Parsing an event stream"
and "Interpreting an event stream".
"""

from __future__ import annotations

import codecs
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final, final

from .errors import FramingError, FrameTooLarge
from .pieces import Pieces

__all__ = [
    "DEFAULT_MAX_EVENT_SIZE",
    "SSEDecoder",
    "ServerSentEvent",
    "data_encoder",
    "encode_comment",
    "encode_event",
    "numbered_data_encoder",
]

#: Default bound, in characters, on one line and on one event's data. Large
#: enough for events that carry base64 images (OpenAI's partial-image events
#: run to a few MiB), small enough that a peer that never ends a line cannot
#: exhaust memory.
DEFAULT_MAX_EVENT_SIZE: Final = 16 * 1024 * 1024


def _check_event(event: str | None) -> None:
    if event is not None:
        if not isinstance(event, str):
            raise TypeError(f"SSE field 'event' must be str or None, not {type(event).__name__}")
        if "\n" in event or "\r" in event:
            raise ValueError(f"SSE field 'event' must not contain CR or LF: {event!r}")


def _check_id(id: str | None) -> None:
    if id is not None:
        if not isinstance(id, str):
            raise TypeError(f"SSE field 'id' must be str or None, not {type(id).__name__}")
        if "\n" in id or "\r" in id:
            raise ValueError(f"SSE field 'id' must not contain CR or LF: {id!r}")
        # A parser ignores an id containing NUL, so sending one would silently
        # leave the client's Last-Event-ID at the previous value.
        if "\0" in id:
            raise ValueError(f"SSE field 'id' must not contain NUL: {id!r}")


def _check_retry(retry: int | None) -> None:
    if retry is not None:
        # bool is an int subclass, but retry=True is always a mistake.
        if isinstance(retry, bool) or not isinstance(retry, int):
            raise TypeError(f"SSE field 'retry' must be int or None, not {type(retry).__name__}")
        if retry < 0:
            raise ValueError(f"SSE field 'retry' must be non-negative, got {retry}")


def _check_text(name: str, value: object, optional: bool) -> None:
    if not isinstance(value, str) and not (optional and value is None):
        expected = "str or None" if optional else "str"
        raise TypeError(f"SSE field {name!r} must be {expected}, not {type(value).__name__}")


def _data_lines(data: str) -> str:
    """Turn every CR, LF or CRLF in ``data`` into a new ``data:`` line.

    The result is what goes between ``"data: "`` and the final newline.
    """
    return data.replace("\r\n", "\n").replace("\r", "\n").replace("\n", "\ndata: ")


def _comment_lines(comment: str) -> str:
    return ": " + comment.replace("\r\n", "\n").replace("\r", "\n").replace("\n", "\n: ") + "\n"


def _head(event: str | None, id: str | None, retry: int | None, comment: str | None) -> str:
    # Unvalidated: callers have checked the fields already.
    head = "" if comment is None else _comment_lines(comment)
    if event is not None:
        head += "event: " + event + "\n"
    if id is not None:
        head += "id: " + id + "\n"
    if retry is not None:
        head += "retry: " + str(int(retry)) + "\n"
    return head


@final
@dataclass(frozen=True, slots=True, init=False)
class ServerSentEvent:
    """One Server-Sent Event, validated when built.

    Every event encodes as one block that a client parses as exactly one
    event -- there is always a ``data:`` line, even for ``data=""``, because a
    block without one is silently dropped by browsers but dispatched as an
    empty event by OpenAI's and httpx-sse's decoders. The one exception is a
    comment-only event (a heartbeat): it encodes as comment lines with no
    blank line after them, so it never ends or starts an event block.

    >>> ServerSentEvent("hello\\nworld", event="greeting", id="1").encode()
    b'event: greeting\\nid: 1\\ndata: hello\\ndata: world\\n\\n'
    >>> ServerSentEvent(comment="keep-alive").encode()
    b': keep-alive\\n'
    >>> ServerSentEvent("x", event="a\\nb")
    Traceback (most recent call last):
      ...
    ValueError: SSE field 'event' must not contain CR or LF: 'a\\nb'

    Events returned by :class:`SSEDecoder` always have ``event`` set
    (``"message"`` when the stream named none), ``id`` set to the last event
    ID in effect (``""`` when none), and ``retry`` set to the reconnection
    time in effect (``None`` until the stream sets one).
    """

    data: str = ""
    event: str | None = None
    id: str | None = None
    retry: int | None = None
    comment: str | None = None

    # Validation and filling happen in __new__ rather than in a generated
    # __init__ + __post_init__: a frozen dataclass's __init__ stores each
    # field through object.__setattr__, which made building an event slower
    # than sse-starlette's build-and-encode. Here the fields go into a
    # mutable twin with plain slot stores and the object is then retyped
    # (see _Draft), about three times faster. The dataclass still provides
    # fields(), repr, ==, hash, match args, replace(), copy and pickle.
    def __new__(
        cls,
        data: str = "",
        *,
        event: str | None = None,
        id: str | None = None,
        retry: int | None = None,
        comment: str | None = None,
    ) -> ServerSentEvent:
        if type(data) is not str:  # (a str subclass passes the check)
            _check_text("data", data, optional=False)
        if event is not None:
            _check_event(event)
        if id is not None:
            _check_id(id)
        if retry is not None:
            _check_retry(retry)
        if comment is not None:
            _check_text("comment", comment, optional=True)
        draft = object.__new__(_Draft)
        draft.data = data
        draft.event = event
        draft.id = id
        draft.retry = retry
        draft.comment = comment
        draft.__class__ = cls  # type: ignore[assignment]
        return draft  # type: ignore[return-value]

    def __init_subclass__(cls, **kwargs: Any) -> None:
        # __new__ relies on the exact slot layout; wrap an event instead.
        raise TypeError("ServerSentEvent cannot be subclassed")

    def encode(self) -> bytes:
        """Frame this event as UTF-8 bytes, ready to write to the client."""
        data = self.data
        if "\n" in data or "\r" in data:
            data = _data_lines(data)
        if self.event is None and self.id is None and self.retry is None:
            if self.comment is None:
                # The common case: one f-string, one encode.
                return f"data: {data}\n\n".encode()
            if not data:
                return _comment_lines(self.comment).encode()
        head = _head(self.event, self.id, self.retry, self.comment)
        return f"{head}data: {data}\n\n".encode()


def encode_event(
    data: str,
    event: str | None = None,
    id: str | None = None,
    retry: int | None = None,
    comment: str | None = None,
) -> bytes:
    """Validate and frame one event without building a :class:`ServerSentEvent`.

    >>> encode_event("1", id="7")
    b'id: 7\\ndata: 1\\n\\n'
    """
    return ServerSentEvent(data, event=event, id=id, retry=retry, comment=comment).encode()


def encode_comment(comment: str = "") -> bytes:
    """Frame an SSE comment, e.g. a heartbeat.

    No blank line follows, so a comment never ends an event block: clients
    that dispatch on every blank line once an id was seen (OpenAI's SDK,
    httpx-sse) see nothing.

    >>> encode_comment("ping")
    b': ping\\n'
    """
    _check_text("comment", comment, optional=False)
    return _comment_lines(comment).encode()


def data_encoder(event: str | None = None) -> Callable[[str], bytes]:
    """Build the per-item function that frames ``data`` as one event.

    For a pipe step's hot path: the event name is validated and baked in once
    per run, so each item costs one newline scan and one concatenation.

    >>> enc = data_encoder("delta")
    >>> enc('{"t": "hi"}')
    b'event: delta\\ndata: {"t": "hi"}\\n\\n'
    >>> enc("two\\r\\nlines")
    b'event: delta\\ndata: two\\ndata: lines\\n\\n'
    """
    _check_event(event)
    prefix = ("" if event is None else "event: " + event + "\n") + "data: "

    def encode(data: str) -> bytes:
        if "\n" in data or "\r" in data:
            data = _data_lines(data)
        return f"{prefix}{data}\n\n".encode()  # one f-string: a single allocation

    return encode


def numbered_data_encoder(event: str | None = None) -> Callable[[str, int], bytes]:
    """Like :func:`data_encoder`, but the function also takes the event's id.

    The id is an ``int`` (a per-run counter), so it needs no validation.

    >>> enc = numbered_data_encoder()
    >>> enc("hi", 1)
    b'id: 1\\ndata: hi\\n\\n'
    """
    _check_event(event)
    prefix = "" if event is None else "event: " + event + "\n"

    def encode(data: str, id: int) -> bytes:
        if "\n" in data or "\r" in data:
            data = _data_lines(data)
        return f"{prefix}id: {id:d}\ndata: {data}\n\n".encode()

    return encode


# --- decoding ---------------------------------------------------------------


def _normalise(text: str) -> str:
    """Turn CRLF and lone CR into LF."""
    return text.replace("\r\n", "\n").replace("\r", "\n")


class _Draft:
    # Same slot layout as ServerSentEvent, but mutable. Building a frozen
    # dataclass costs about 1 us (five object.__setattr__ calls plus the
    # validation); decoded events are valid by construction, so the decoder
    # fills a draft with plain slot stores and then retypes it, which is
    # about three times cheaper -- and event construction is the largest
    # part of the decoder's per-event cost. Retyping is allowed because both classes
    # have identical __slots__ (a test checks it).
    __slots__ = ServerSentEvent.__slots__

    data: str
    event: str | None
    id: str | None
    retry: int | None
    comment: str | None

    def __init__(self, data: str, event: str, id: str, retry: int | None) -> None:
        self.data = data
        self.event = event
        self.id = id
        self.retry = retry
        self.comment = None


def _parsed(data: str, event: str, id: str, retry: int | None) -> ServerSentEvent:
    draft = _Draft(data, event, id, retry)
    draft.__class__ = ServerSentEvent  # type: ignore[assignment]
    return draft  # type: ignore[return-value]


class SSEDecoder:
    """Incremental Server-Sent Events parser (WHATWG HTML, exactly).

    Feed it the raw body in chunks of any size; it returns the events each
    chunk completes. Any chunking of the same bytes gives the same events.

    >>> d = SSEDecoder()
    >>> d.feed(b"id: 1\\ndata: hel")
    []
    >>> d.feed(b"lo\\r\\n\\r\\n")
    [ServerSentEvent(data='hello', event='message', id='1', retry=None, comment=None)]
    >>> d.last_event_id
    '1'

    Bytes are decoded as UTF-8 whatever the Content-Type says, invalid
    sequences becoming U+FFFD (as browsers do); ``str`` chunks are taken as
    already decoded. Feed one kind per stream. Comments are skipped.

    ``last_event_id`` and ``retry`` reflect the stream's state (the id a
    reconnect should send as Last-Event-ID, and the reconnection time in
    ms, ``None`` until the server sets one).

    ``max_event_size`` bounds, in characters, both a single line and one
    event's joined data; past it :class:`FrameTooLarge` is raised rather than
    buffering without bound. ``None`` disables the bound.

    :meth:`flush` marks the end of the stream: per the standard an
    unterminated last event is discarded, so it returns ``[]``; it resets the
    parse state so the decoder can read a reconnected stream, keeping
    ``last_event_id`` and ``retry``.
    """

    __slots__ = (
        "last_event_id",
        "retry",
        "_limit",
        "_decoder",
        "_started",
        "_pending_cr",
        "_tail",
        "_data",
        "_event_type",
        "_id_buffer",
    )

    last_event_id: str
    retry: int | None

    def __init__(self, *, max_event_size: int | None = DEFAULT_MAX_EVENT_SIZE) -> None:
        if max_event_size is not None and max_event_size < 1:
            raise ValueError(f"max_event_size must be positive or None, got {max_event_size}")
        self.last_event_id = ""
        self.retry = None
        self._limit: int = (1 << 62) if max_event_size is None else max_event_size
        self._reset_stream()

    def _reset_stream(self) -> None:
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self._started = False  # has the first character (maybe a BOM) been seen?
        self._pending_cr = False  # did the last chunk end with CR? then skip one LF
        self._tail = Pieces("")  # an unterminated line
        self._data = Pieces("\n")  # the spec's data buffer
        self._event_type = ""
        # The spec's "last event ID buffer": set by id lines, copied to
        # last_event_id at each blank line (so an id in a block that never
        # ends does not count).
        self._id_buffer = self.last_event_id

    def feed(self, chunk: bytes | bytearray | memoryview | str) -> list[ServerSentEvent]:
        """Parse the next chunk; return the events it completes."""
        if isinstance(chunk, str):
            text = chunk
        elif isinstance(chunk, (bytes, bytearray, memoryview)):
            text = self._decoder.decode(chunk)
        else:
            raise TypeError(f"SSEDecoder.feed() takes bytes or str, not {type(chunk).__name__}")
        events: list[ServerSentEvent] = []
        if text:
            try:
                self._feed_text(text, events)
            except FramingError as exc:
                exc.partial = list(events)
                raise
        return events

    def flush(self) -> list[ServerSentEvent]:
        """End the stream: drop any unterminated event and reset for reuse."""
        self._reset_stream()
        return []

    def _feed_text(self, text: str, events: list[ServerSentEvent]) -> None:
        if not self._started:
            self._started = True
            # Exactly one BOM, and only at the very start of the stream.
            if text[0] == "\ufeff":
                text = text[1:]
        if self._pending_cr:
            # The CR that ended the last chunk was already taken as a line
            # end; an LF right after it belongs to the same CRLF.
            self._pending_cr = False
            if text[:1] == "\n":
                text = text[1:]
        # Only CR, LF and CRLF end lines (never U+2028 and the other
        # str.splitlines() separators). Text with a CR is normalised to LF,
        # but only where the exact path needs it (see below).
        has_cr = "\r" in text
        if has_cr:
            # A CR ending the chunk is a line end now: waiting for the next
            # chunk would delay a complete event.
            self._pending_cr = text[-1] == "\r"
        tail = self._tail
        if tail:
            tail.add(text)
            if not has_cr and "\n" not in text:
                # Still no line end: keep the pieces (joining on every chunk
                # would be quadratic for a long line arriving in small chunks).
                if tail.size > self._limit:
                    self._too_large("line")
                return
            text = tail.take()
        # From here on, text starts at the start of a line.

        # The usual streams are "data: X\n\ndata: Y\n\n..." (OpenAI) or
        # "event: E\ndata: X\n\nevent: ..." (Anthropic). One C-level split at
        # "\n\ndata: " (or "\n\nevent: ") hands over most events nearly
        # ready-made: each piece but the first and last sits between a blank
        # line and the next, so it is one complete block that starts with
        # "data: " (or "event: ") + piece. CRLF streams, as sse-starlette
        # writes, split the same way at "\r\n\r\n...", without normalising.
        blank = "\r\n\r\n" if has_cr else "\n\n"
        first_blank = text.find(blank)
        if first_blank >= 0:
            # What follows the first blank line tells the stream's shape
            # (the chunk itself may start mid-event).
            after = first_blank + len(blank)
            if text.startswith("data: ", after):
                kind = "data: "
            elif text.startswith("event: ", after):
                kind = "event: "
            else:
                kind = ""
            if kind:
                pieces = text.split(blank + kind)
                text = kind + pieces.pop()  # runs to the end of the chunk
                # The first piece may continue an event from an earlier
                # chunk, or start with blank lines that end one.
                self._lines(_normalise(pieces[0]) if has_cr else pieces[0], events)
                self._dispatch(events)
                if kind == "data: ":
                    self._data_pieces(pieces, events, has_cr)
                else:
                    self._event_pieces(pieces, events, has_cr)
        if has_cr:
            text = _normalise(text)
        self._rest(text, events)

    def _data_pieces(self, pieces: list[str], events: list[ServerSentEvent], has_cr: bool) -> None:
        # Pieces look like "X" (pieces[0] is already done).
        append = events.append
        new = object.__new__
        draft_type = _Draft
        event_type = ServerSentEvent
        last_id = self.last_event_id
        retry = self.retry
        data_limit = self._limit - 6  # the line is "data: " + piece
        for i in range(1, len(pieces)):
            data = pieces[i]
            if "\n" not in data and len(data) <= data_limit and not (has_cr and "\r" in data):
                # The hot loop: _parsed() inlined, as a call per event shows.
                draft = new(draft_type)
                draft.data = data
                draft.event = "message"
                draft.id = last_id
                draft.retry = retry
                draft.comment = None
                draft.__class__ = event_type  # type: ignore[assignment]
                append(draft)  # type: ignore[arg-type]
            else:
                self._lines(_normalise("data: " + data) if has_cr else "data: " + data, events)
                self._dispatch(events)
                last_id = self.last_event_id
                retry = self.retry

    def _event_pieces(self, pieces: list[str], events: list[ServerSentEvent], has_cr: bool) -> None:
        # Pieces look like "name\ndata: X" (pieces[0] is already done).
        append = events.append
        new = object.__new__
        draft_type = _Draft
        event_type = ServerSentEvent
        last_id = self.last_event_id
        retry = self.retry
        limit = self._limit
        data_line = "\r\ndata: " if has_cr else "\ndata: "
        for i in range(1, len(pieces)):
            piece = pieces[i]
            # One method call per event: each costs as much as the rest.
            parts = piece.split(data_line)
            if (
                len(parts) == 2
                and "\n" not in parts[0]
                and "\n" not in parts[1]
                and not (has_cr and ("\r" in parts[0] or "\r" in parts[1]))
                and len(piece) <= limit - 7  # both lines are shorter than "event: " + piece
            ):
                draft = new(draft_type)
                draft.data = parts[1]
                draft.event = parts[0] or "message"
                draft.id = last_id
                draft.retry = retry
                draft.comment = None
                draft.__class__ = event_type  # type: ignore[assignment]
                append(draft)  # type: ignore[arg-type]
            else:
                self._lines(_normalise("event: " + piece) if has_cr else "event: " + piece, events)
                self._dispatch(events)
                last_id = self.last_event_id
                retry = self.retry

    def _rest(self, text: str, events: list[ServerSentEvent]) -> None:
        """Parse ``text`` (starting at a line start, no tail pending); keep its tail."""
        limit = self._limit
        cut = text.rfind("\n")
        rest = text[cut + 1 :]
        if rest and self._tail.add(rest) > limit:
            self._too_large("line")
        if cut < 0:
            return

        # Complete lines, split at blank lines into blocks: every block but
        # the last is followed by a blank line, i.e. a dispatch. A block may
        # start with "\n" (more blank lines); _lines dispatches on those.
        blocks = text[:cut].split("\n\n")
        last = blocks.pop()
        start = 0
        if blocks and (self._data.parts or self._event_type or self._id_buffer != self.last_event_id):
            # The first block continues an event begun in an earlier chunk.
            self._lines(blocks[0], events)
            self._dispatch(events)
            start = 1

        append = events.append
        last_id = self.last_event_id
        retry = self.retry
        for i in range(start, len(blocks)):
            block = blocks[i]
            if len(block) <= limit:
                # Fast paths (from a clean state: the previous block
                # dispatched): a lone data line, with or without the space...
                if block[:5] == "data:" and "\n" not in block:
                    append(_parsed(block[6:] if block[5:6] == " " else block[5:], "message", last_id, retry))
                    continue
                # ...or "event: name" then one data line, as Anthropic's and
                # OpenAI's Responses streams send.
                if block[:7] == "event: ":
                    eol = block.find("\n")
                    if block.startswith("data: ", eol + 1) and block.find("\n", eol + 1) < 0:
                        append(_parsed(block[eol + 7 :], block[7:eol] or "message", last_id, retry))
                        continue
            self._lines(block, events)
            self._dispatch(events)
            last_id = self.last_event_id
            retry = self.retry
        self._lines(last, events)

    def _lines(self, block: str, events: list[ServerSentEvent]) -> None:
        """Process complete lines (LF-separated, no trailing LF): the exact path."""
        limit = self._limit
        check_lines = len(block) > limit
        for line in block.split("\n"):
            if not line:
                self._dispatch(events)
                continue
            if check_lines and len(line) > limit:
                self._too_large("line")
            if line[0] == ":":
                continue  # a comment
            # No colon: the whole line is the name and the value is "".
            name, _, value = line.partition(":")
            if value[:1] == " ":
                value = value[1:]
            if name == "data":
                if self._data.add(value) > limit:
                    self._too_large("event")
            elif name == "event":
                self._event_type = value
            elif name == "id":
                if "\0" not in value:
                    self._id_buffer = value
            elif name == "retry":
                # Only ASCII digits; int() alone would also take "+5", " 7",
                # "1_0" and full-width digits.
                if value.isascii() and value.isdigit():
                    try:
                        self.retry = int(value)
                    except ValueError:  # beyond int()'s digit limit; ignore
                        pass
            # Any other field name is ignored (names are case-sensitive).

    def _dispatch(self, events: list[ServerSentEvent]) -> None:
        self.last_event_id = self._id_buffer
        if self._data.parts:
            data = self._data.take()
            events.append(_parsed(data, self._event_type or "message", self.last_event_id, self.retry))
        # An empty data buffer dispatches nothing, but still clears the type.
        self._event_type = ""

    def _too_large(self, what: str) -> None:
        raise FrameTooLarge(f"SSE {what} exceeds max_event_size={self._limit} characters", self._limit)
