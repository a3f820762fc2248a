"""Exception types raised by the core."""

from __future__ import annotations


class StreamReusedError(RuntimeError):
    """A second run was started on a stream whose source cannot restart.

    Streams are cold: each iteration reads its source again. A generator object, an SDK
    stream or a :class:`~streamkit.Channel` can be read once only; iterating them again
    would silently yield nothing, so streamkit raises this instead.
    """


class ChannelClosedError(RuntimeError):
    """Sent to a :class:`~streamkit.Channel` that was closed or whose consumer has left."""


class EmptyStreamError(ValueError):
    """A terminal helper that needs an item (``first``, ``last``, ``reduce``) got none."""
