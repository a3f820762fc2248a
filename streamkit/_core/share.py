"""One run of a stream read by many consumers: :func:`share` and :class:`Shared`.

Streams are cold: every iteration starts the source again. ``stream | share()`` is the hot
side: the first consumer starts one run of the source, every later consumer joins that same
run, and the run is closed when the last consumer leaves (or ``grace`` seconds later).

One pump task reads the source and hands each item to every consumer's own bounded mailbox,
so consumers never share a buffer and never read the source themselves. The pump runs
outside every consumer's cancel scopes (see ``tasks.py``), which is what lets each consumer
be a plain async generator that works under ``async for`` and leave at any moment.
"""

from __future__ import annotations

import asyncio
import logging
import math
from collections import deque
from collections.abc import AsyncIterable, AsyncIterator, Callable
from functools import partial
from typing import Any, Literal, TypeVar

import anyio

from streamkit._core.closing import describe, opened
from streamkit._core.mailbox import ConsumerGone, Mailbox
from streamkit._core.stream import Stream, T_co
from streamkit._core.backend import running_trio
from streamkit._core.tasks import Pumps
from streamkit._core.validate import check_positive_int, check_seconds, check_whole

T = TypeVar("T")

logger = logging.getLogger("streamkit")

Overflow = Literal["wait", "drop_oldest", "drop_newest", "error"]
_OVERFLOWS = ("wait", "drop_oldest", "drop_newest", "error")

DEFAULT_SHARE_BUFFER = 16


class ConsumerLagError(Exception):
    """A consumer of a shared stream fell further behind than its buffer (``overflow="error"``).

    Only that consumer's stream ends with this error, after the items already in its buffer;
    the shared run goes on for the others.
    """


def share(
    *,
    buffer: int = DEFAULT_SHARE_BUFFER,
    overflow: Overflow = "wait",
    replay: int = 0,
    grace: float = 0.0,
) -> Callable[[AsyncIterable[T]], Shared[T]]:
    """One run of the source, read by any number of consumers that join and leave at any time.

    ``stream | share()`` returns a :class:`Shared` stream. Iterating it does not start a new
    run: the first consumer starts the run, later ones join it and see the items read from
    then on (plus the last ``replay`` items, read before they joined). The source is closed
    when the last consumer leaves, its ``finally`` having run before that consumer's loop
    ends; with ``grace`` seconds the run is kept that long for a consumer who comes back
    (a reloading browser tab), and the source is not read while nobody is there.

    Each consumer has its own buffer of ``buffer`` items. When a consumer falls that far
    behind, ``overflow`` decides, for that consumer alone:

    - ``"wait"`` (default): the source waits for the slowest consumer; nothing is lost;
    - ``"drop_oldest"``: its oldest buffered item is dropped for the new one;
    - ``"drop_newest"``: the new item is not given to it;
    - ``"error"``: its stream ends with :class:`ConsumerLagError` after its buffered items.

    :meth:`Shared.consumer` gives one consumer other settings. An error of the source ends
    every current consumer's stream with that error, after their buffered items.

    Once the run has ended (the source finished or failed), consumers joining while it is
    still known (someone is still reading, or within ``grace``) get its last ``replay`` items
    and its end; after that the next consumer starts a fresh run. So two browser tabs on one
    LLM answer never cause two model calls, and with ``replay`` a late tab sees the answer.

    A consumer joins when it first asks for an item and leaves when its run is closed (at the
    end of ``async with shared.open()``, or by a terminal helper such as ``list()``). Keep the
    shared stream in a variable: each ``| share()`` is its own sharing point.

    >>> answer = llm_tokens(prompt) | share(replay=1000, grace=5.0)   # doctest: +SKIP
    >>> async with anyio.create_task_group() as tg:                      # doctest: +SKIP
    ...     tg.start_soon(send_to_browser, answer | to_sse())
    ...     tg.start_soon(save_to_db, answer)
    ... # one model call; both consumers saw every token
    """
    check_positive_int("share(buffer)", buffer)
    _check_overflow("share", overflow)
    check_whole("share(replay)", replay)
    check_seconds("share(grace)", grace, allow_inf=True)

    def apply(source: AsyncIterable[T]) -> Shared[T]:
        return Shared(source, buffer=buffer, overflow=overflow, replay=replay, grace=grace)

    return apply


def _check_overflow(where: str, overflow: object) -> None:
    if overflow not in _OVERFLOWS:
        raise ValueError(f"{where}(overflow=...) must be one of {', '.join(map(repr, _OVERFLOWS))}, got {overflow!r}")


def _current_loop() -> object:
    """An object identifying the running event loop (the asyncio loop, or trio's run token)."""
    if running_trio():
        import trio

        return trio.lowlevel.current_trio_token()
    return asyncio.get_running_loop()


class _Consumer:
    """One consumer's end of the shared run: its mailbox and what to do when it is full."""

    __slots__ = ("box", "overflow", "capacity", "dropped")

    def __init__(self, capacity: int, overflow: Overflow) -> None:
        self.box: Mailbox[Any] = Mailbox(capacity)
        self.overflow = overflow
        self.capacity = capacity
        self.dropped = 0


class _Run:
    """The state of one shared run of the source."""

    __slots__ = ("loop", "consumers", "receiving", "history", "ended", "error", "retired",
                 "expires_at", "pumps", "reader", "closed", "_joined")

    def __init__(self, loop: object, replay: int) -> None:
        self.loop = loop
        self.consumers = 0
        """Consumers joined and not yet left."""
        # Replaced, never mutated, so the pump iterates it per item without copying.
        self.receiving: tuple[_Consumer, ...] = ()
        """Consumers the pump still hands items to (not those that left or lagged out)."""
        self.history: deque[Any] | None = deque(maxlen=replay) if replay else None
        self.ended = False
        """The pump has finished: the source is closed (or closing)."""
        self.error: BaseException | None = None
        self.retired = False
        """Closed by Shared.aclose(): takes no new consumers."""
        self.expires_at = math.inf
        """When a run without consumers stops taking new ones."""
        self.pumps = Pumps()
        self.reader: anyio.CancelScope | None = None
        self.closed = anyio.Event()
        """Set once the source's cleanup has run."""
        self._joined: anyio.Event | None = None

    def expired(self, now: float) -> bool:
        return self.retired or (self.consumers == 0 and now >= self.expires_at)

    def add(self, consumer: _Consumer) -> None:
        self.receiving = (*self.receiving, consumer)
        if self._joined is not None:
            self._joined.set()
            self._joined = None

    def remove(self, consumer: _Consumer) -> None:
        self.receiving = tuple(c for c in self.receiving if c is not consumer)

    async def wait_for_consumer(self) -> None:
        while not self.receiving:
            self._joined = anyio.Event()
            await self._joined.wait()


async def _close(run: _Run) -> None:
    """Stop the run's pump and wait, shielded, until the source's cleanup has run."""
    # Waiting on ``closed`` rather than ``pumps.aclose()``: a consumer leaving and
    # Shared.aclose() may both wait at once.
    run.pumps.cancel()
    with anyio.CancelScope(shield=True):
        await run.closed.wait()


class Shared(Stream[T_co]):
    """A stream whose iterations join one shared run of its source; made by :func:`share`.

    >>> shared = tokens | share()                     # doctest: +SKIP
    >>> async with shared.open() as first, shared.open() as second:   # doctest: +SKIP
    ...     a = await anext(first)                   # the run starts here
    ...     b = await anext(second)                  # joins it: the item after ``a``
    >>> # both left: the run of ``tokens`` is closed

    A consumer joins when it asks for its first item. Piping it on (``shared | map(f)``) gives a stream each of whose iterations is one more
    consumer of the shared run. A run belongs to the event loop that started it: joining it
    from another loop (another thread) while it has consumers raises ``RuntimeError``.
    """

    __slots__ = ("_source", "_buffer", "_overflow", "_replay", "_grace", "_run")

    def __init__(
        self,
        source: AsyncIterable[T_co],
        *,
        buffer: int = DEFAULT_SHARE_BUFFER,
        overflow: Overflow = "wait",
        replay: int = 0,
        grace: float = 0.0,
    ) -> None:
        if not isinstance(source, AsyncIterable):
            raise TypeError(f"share() needs a stream or async iterable, got {describe(source)}")
        # A shared framed stream (``tokens | to_sse() | share()``) keeps its marks for the sinks.
        super().__init__(partial(self._consume, None, None), framing=getattr(source, "framing", None))
        self._source = source
        self._buffer = check_positive_int("share(buffer)", buffer)
        _check_overflow("share", overflow)
        self._overflow: Overflow = overflow
        self._replay = check_whole("share(replay)", replay)
        self._grace = check_seconds("share(grace)", grace, allow_inf=True)
        self._run: _Run | None = None

    def consumer(self, *, buffer: int | None = None, overflow: Overflow | None = None) -> Stream[T_co]:
        """A stream whose iterations join the shared run with their own buffer size and overflow policy.

        >>> audit_log = shared.consumer(buffer=1000, overflow="drop_oldest")   # doctest: +SKIP
        """
        if buffer is not None:
            check_positive_int("consumer(buffer)", buffer)
        if overflow is not None:
            _check_overflow("consumer", overflow)
        return Stream(partial(self._consume, buffer, overflow), framing=self.framing)

    @property
    def consumers(self) -> int:
        """How many consumers are reading the current run now."""
        return self._run.consumers if self._run is not None else 0

    @property
    def running(self) -> bool:
        """True while a run of the source is open (including during a grace period)."""
        return self._run is not None and not self._run.ended

    async def aclose(self) -> None:
        """Close the current run now: its consumers end after their buffered items, the source's
        cleanup has run when this returns, and the next consumer starts a fresh run."""
        run = self._run
        if run is None:
            return
        run.retired = True
        await _close(run)

    def __repr__(self) -> str:
        return f"<Shared stream of {describe(self._source)}, {self.consumers} consumer(s)>"

    # -- consumers ----------------------------------------------------------------------

    async def _consume(self, buffer: int | None, overflow: Overflow | None) -> AsyncIterator[T_co]:
        run, consumer, replayed = self._join(buffer or self._buffer, overflow or self._overflow)
        try:
            for item in replayed:
                yield item
            async for item in consumer.box:
                yield item
        finally:
            await self._leave(run, consumer)

    def _join(self, buffer: int, overflow: Overflow) -> tuple[_Run, _Consumer, list[Any]]:
        # Synchronous from the history snapshot to registering the mailbox: the pump cannot
        # run in between, so a joiner gets every item exactly once (replayed, or live).
        loop = _current_loop()
        run = self._run
        previous: _Run | None = None
        if run is not None and run.loop is not loop:
            if run.consumers and not run.retired:
                raise RuntimeError(
                    "this shared stream is being read in another event loop (thread); a shared run "
                    "belongs to the loop that started it"
                )
            run = None
        elif run is not None and run.expired(anyio.current_time()):
            previous, run = run, None
        if run is None:
            run = self._start(loop, previous)
        run.consumers += 1
        run.expires_at = math.inf
        if run.reader is not None:
            run.reader.deadline = math.inf
        consumer = _Consumer(buffer, overflow)
        replayed = list(run.history) if run.history is not None else []
        if run.ended:
            consumer.box.close(run.error)
        else:
            run.add(consumer)
        return run, consumer, replayed

    async def _leave(self, run: _Run, consumer: _Consumer) -> None:
        consumer.box.abandon()  # wakes the pump if it waits for this consumer
        run.remove(consumer)
        run.consumers -= 1
        if consumer.dropped:
            logger.debug("share(): %d item(s) were dropped for a consumer that fell behind", consumer.dropped)
        if run.consumers:
            return
        run.expires_at = anyio.current_time() + self._grace
        if run.ended:
            return
        if self._grace == 0:
            await _close(run)
        elif run.reader is not None:
            # The pump stops at the deadline unless a consumer joins first and lifts it.
            run.reader.deadline = run.expires_at

    # -- the pump -----------------------------------------------------------------------

    def _start(self, loop: object, previous: _Run | None) -> _Run:
        run = _Run(loop, self._replay)
        self._run = run
        run.reader = run.pumps.start(self._pump, run, previous)
        logger.debug("share(): started a run of %s", describe(self._source))
        return run

    async def _pump(self, run: _Run, previous: _Run | None) -> None:
        try:
            if previous is not None:
                # Runs of the source never overlap: the last one finishes its cleanup first.
                await previous.closed.wait()
            async with opened(self._source) as items:
                while True:
                    if not run.receiving:  # nobody there (grace): do not read on
                        await run.wait_for_consumer()
                    try:
                        item = await anext(items)
                    except StopAsyncIteration:
                        break
                    if not run.receiving:  # everyone left while it was being read: keep it for the next
                        await run.wait_for_consumer()
                    if run.history is not None:
                        run.history.append(item)
                    # Everyone with room gets the item first, so a fast consumer is never held
                    # back by the order in which a slow one joined.
                    full: list[_Consumer] | None = None
                    for consumer in run.receiving:
                        try:
                            if consumer.box.offer(item):
                                continue
                        except ConsumerGone:
                            continue
                        if full is None:
                            full = []
                        full.append(consumer)
                    if full is not None:
                        for consumer in full:
                            await self._apply_overflow(run, consumer, item)
                        # Dropping never waits: let the consumers run even if the source never does.
                        await anyio.lowlevel.checkpoint()
        except Exception as error:
            run.error = error
        finally:
            run.ended = True
            for consumer in run.receiving:
                consumer.box.close(run.error)
            run.receiving = ()
            run.closed.set()
            logger.debug("share(): closed a run of %s", describe(self._source))

    @staticmethod
    async def _apply_overflow(run: _Run, consumer: _Consumer, item: Any) -> None:
        """``consumer``'s buffer is full: apply its policy."""
        box = consumer.box
        try:
            overflow = consumer.overflow
            if overflow == "wait":
                await box.put(item)
            elif overflow == "drop_oldest":
                box.push_out_oldest(item)
                consumer.dropped += 1
            elif overflow == "drop_newest":
                consumer.dropped += 1
            else:
                run.remove(consumer)
                box.close(ConsumerLagError(
                    f"a consumer of a shared stream fell behind by more than {consumer.capacity} items "
                    "(its buffer), so the shared run went on without it; give it a bigger buffer or "
                    "another overflow policy (\"wait\", \"drop_oldest\", \"drop_newest\")"
                ))
        except ConsumerGone:
            pass
