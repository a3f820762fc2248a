"""The common shape of operators that read their source in the background."""

from __future__ import annotations

from collections.abc import AsyncIterable, AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from streamkit._core.mailbox import DEFAULT_READ_AHEAD, Mailbox, forward
from streamkit._core.tasks import Pumps


@asynccontextmanager
async def running(*boxes: Mailbox[Any]) -> AsyncIterator[Pumps]:
    """The background tasks of one run of an operator, for one block.

    Leaving the block (the end, an error, the consumer stopping, cancellation) abandons
    ``boxes`` (waiting producers give up) and waits until every pump's cleanup has run, so
    the sources' ``finally`` blocks have run before control returns to the consumer.
    """
    pumps = Pumps()
    try:
        yield pumps
    finally:
        for box in boxes:
            box.abandon()
        await pumps.aclose()


@asynccontextmanager
async def pumped(source: AsyncIterable[Any], read_ahead: int = DEFAULT_READ_AHEAD) -> AsyncIterator[tuple[Mailbox[Any], Pumps]]:
    """Read one run of ``source`` into a mailbox from a background task, for one block.

    The consumer may then wait for items under a deadline without ever cancelling the
    source's ``__anext__`` (which would end the source). Leaving the block stops the reader
    and waits for the source's cleanup. The consumer calls ``pumps.raise_error()`` at the
    end, for errors of pumps other than the reader (the reader's own error comes in-band).
    """
    box: Mailbox[Any] = Mailbox(read_ahead)
    async with running(box) as pumps:
        pumps.start(forward, source, box)
        yield box, pumps
