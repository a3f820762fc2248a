"""Event ids: ``"<milliseconds>-<sequence>"``, Redis Streams' format, on every backend.

The id of each published event becomes the SSE ``id:`` line, so a client's ``Last-Event-ID``
names exactly where to resume. Ids of one topic only grow; comparing parsed ids as tuples
orders them. Milliseconds come from the wall clock, so ids stay increasing across a restart of
the process (memory backend) or are Redis's own (Redis backend).
"""

from __future__ import annotations

import re
import time

from streamkit.broker._errors import SubscriberLagged

Key = tuple[int, int]
"""A parsed id: ``(milliseconds, sequence)``; tuples compare in id order."""

START = "0-0"
"""``subscribe(topic, after=START)`` replays the topic from its first event."""

START_KEY: Key = (0, 0)

_ID = re.compile(r"([0-9]{1,20})-([0-9]{1,20})")
_MAX = 2**64 - 1


def parse_id(name: str, value: object) -> Key:
    """``value`` as a :data:`Key`; a clear error naming ``name`` if it is not an event id.

    >>> parse_id("after", "1700000000000-3")
    (1700000000000, 3)
    """
    if not isinstance(value, str):
        raise TypeError(f"{name} must be an event id string such as '1700000000000-0', got {type(value).__name__} {value!r}")
    if value == "0":
        return START_KEY
    match = _ID.fullmatch(value)
    if match is None:
        raise ValueError(f"{name}={value!r} is not an event id; ids look like '1700000000000-0' ('0-0': from the start)")
    key = (int(match[1]), int(match[2]))
    if key[0] > _MAX or key[1] > _MAX:
        raise ValueError(f"{name}={value!r} is out of range for an event id")
    return key


def format_id(key: Key) -> str:
    return f"{key[0]}-{key[1]}"


class IdClock:
    """Hands out increasing ids the way Redis does: wall-clock milliseconds, then a sequence.

    A clock that steps back never makes an id go back: the last milliseconds are kept.
    """

    __slots__ = ("_ms", "_seq")

    def __init__(self) -> None:
        self._ms = 0
        self._seq = 0

    def next(self) -> Key:
        now = time.time_ns() // 1_000_000
        if now > self._ms:
            self._ms, self._seq = now, 0
        else:
            self._seq += 1
        return (self._ms, self._seq)


def check_resume(topic: str, after: Key, first: Key | None, first_prev: Key | None, last: Key | None) -> None:
    """Raise :class:`SubscriberLagged` unless a subscription after ``after`` can be complete.

    ``first`` is the oldest stored event, ``first_prev`` the id of the event before it (``0-0``
    for the first event ever), ``last`` the newest id ever given (None: the topic has no
    history at all). Events after ``after`` are all there exactly when ``after`` is the
    predecessor of the oldest stored event or later; an id between that predecessor and the
    oldest event, or after the newest, is one the topic never had.
    """
    text = format_id(after)
    if last is None:
        if after != START_KEY:
            raise SubscriberLagged(
                f"cannot resume topic {topic!r} after id {text}: the topic has no history "
                "(it expired or was deleted, or the broker's store restarted without its data)",
                topic=topic,
                after=text,
            )
        return
    if after > last:
        raise SubscriberLagged(
            f"cannot resume topic {topic!r} after id {text}: that is after the topic's newest "
            f"event {format_id(last)}, so not an id of this topic (was the topic recreated?)",
            topic=topic,
            after=text,
        )
    if first is None or first_prev is None:
        # Nothing stored: complete only if ``after`` is the newest id.
        if after == last:
            return
        raise _too_old(topic, text, "none")
    if after >= first or after == first_prev:
        return
    if after < first_prev:
        raise _too_old(topic, text, format_id(first))
    if first_prev == START_KEY:
        # The stored history starts at the topic's very first event, and ``after`` is older.
        raise SubscriberLagged(
            f"cannot resume topic {topic!r} after id {text}: the topic was reset since (deleted, "
            "expired, or its store restarted without its data); events may have been lost",
            topic=topic,
            after=text,
        )
    raise SubscriberLagged(
        f"cannot resume topic {topic!r} after id {text}: the topic has no such event",
        topic=topic,
        after=text,
    )


def _too_old(topic: str, text: str, oldest: str) -> SubscriberLagged:
    return SubscriberLagged(
        f"cannot resume topic {topic!r} after id {text}: the events after it are no longer "
        f"retained (oldest kept: {oldest}); start over, or raise the topic's retention",
        topic=topic,
        after=text,
    )


def chain_broken(topic: str, after: Key, prev: Key) -> SubscriberLagged:
    """The error for a subscriber whose next event does not follow ``after``: its ``prev`` differs."""
    text = format_id(after)
    if prev == START_KEY:
        why = "the topic was reset (deleted, expired, or Redis restarted without its data)"
    elif prev > after:
        why = "the events after it were dropped by the topic's retention: the subscriber fell too far behind"
    else:
        why = "the topic has no such event"
    return SubscriberLagged(f"subscriber to topic {topic!r} cannot continue after id {text}: {why}", topic=topic, after=text)
