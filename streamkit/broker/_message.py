"""What a subscriber receives, and what a topic stores."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Final, Generic, TypeVar

from streamkit._framing.sse import ServerSentEvent

T_co = TypeVar("T_co", covariant=True)


@dataclass(frozen=True, slots=True)
class Message(Generic[T_co]):
    """One event of a topic: its id, which a sink sends as the SSE ``id:``, and the item.

    >>> async for message in broker.subscribe("chat", after=last_event_id):   # doctest: +SKIP
    ...     print(message.id, message.data)
    1700000000000-0 {'text': 'Hello'}
    """

    id: str
    data: T_co

    def __sse__(self) -> ServerSentEvent:
        """The SSE form ``to_sse()`` sends: the message id as ``id:``, a str as is, else its JSON."""
        data = self.data
        return ServerSentEvent(data if isinstance(data, str) else json.dumps(data), id=self.id)


# What a topic stores: an item, or one of the markers that end its stream. The letters are
# the field names of Redis entries, kept short because every entry carries one.
DATA: Final = "d"
END: Final = "e"
FAILED: Final = "f"
CANCELLED: Final = "c"
KINDS: Final = frozenset({DATA, END, FAILED, CANCELLED})

Entry = tuple[str, Any]
"""``(kind, item)`` for data, ``(kind, text)`` for a marker."""


def check_topic(topic: object) -> str:
    """``topic`` if it is a usable topic name, else a clear error."""
    if not isinstance(topic, str):
        raise TypeError(f"a topic name must be a str, got {type(topic).__name__} {topic!r}")
    if not topic:
        raise ValueError("a topic name must not be empty")
    return topic
