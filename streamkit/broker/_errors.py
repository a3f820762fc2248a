"""Exceptions raised by brokers and their subscriptions.

Every way a subscription can stop short of its topic's end raises one of these, so a sink can
frame it as an error event: a subscriber never silently skips events.
"""

from __future__ import annotations


class BrokerError(Exception):
    """Base class of the broker's errors."""


class SubscriberLagged(BrokerError):
    """A subscription cannot go on without a gap: events after ``after`` are no longer stored.

    Raised when a subscriber falls further behind than the topic's retention, when
    ``subscribe(after=...)`` names an event older than the retention (or one the topic never
    had), and when the topic's history was lost (deleted, expired, Redis restarted without
    persistence). The client should start over rather than resume.
    """

    def __init__(self, message: str, *, topic: str, after: str) -> None:
        super().__init__(message)
        self.topic = topic
        """The topic subscribed to."""
        self.after = after
        """The id of the last event the subscriber got (or asked to resume after)."""


class ProducerFailed(BrokerError):
    """The stream published to the topic raised; its subscribers get this with its type and text.

    The original exception cannot cross processes, so its ``TypeName: message`` is the message.
    """


class ProducerCancelled(BrokerError):
    """The producer of the topic stopped before its end: nobody subscribed for its ``keep_alive``,
    it was cancelled, or its broker closed."""


class BrokerUnavailable(BrokerError):
    """The broker's server could not be reached within the broker's ``reconnect_timeout``."""


class BrokerClosed(BrokerError):
    """The broker was closed while the subscription was reading, or before it started."""
