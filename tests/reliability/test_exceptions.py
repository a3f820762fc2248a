"""Errors keep their type and their traceback, and a failing part of a concurrent operator stops
its siblings before the error reaches the consumer.

"Original type" means the very exception object raised, not an ExceptionGroup around it nor a
new exception made from it; "traceback" means the raising frame (``raise_boom``, ``raise_oops``,
``broken_write``) is in ``__traceback__`` when the consumer catches it.
"""

from __future__ import annotations

import traceback
from collections.abc import Callable
from typing import Any

import anyio
import pytest

import streamkit as sk
from streamkit._core.tasks import live_pumps
from tests.reliability.lifecycle import Boom, Log, Oops, SinkBroke, raise_boom, raise_oops


def frames_of(error: BaseException) -> list[str]:
    return [frame.name for frame in traceback.extract_tb(error.__traceback__)]


async def catch_from(pipeline: sk.Stream[Any], kind: type[BaseException]) -> tuple[BaseException, list[Any]]:
    """Consume ``pipeline`` until it raises; return the error exactly as the consumer caught it."""
    received: list[Any] = []
    try:
        async with pipeline.open() as items:
            async for item in items:
                received.append(item)
    except BaseException as error:  # noqa: BLE001 - the point is to see exactly what arrives
        assert type(error) is kind, f"expected {kind.__name__}, the consumer got {error!r}"
        return error, received
    raise AssertionError(f"{kind.__name__} was not raised; items: {received}")


# -- errors from sources --------------------------------------------------------------------------

THROUGH: dict[str, Callable[[], Any]] = {
    "map": lambda: sk.map(str),
    "filter": lambda: sk.filter(bool),
    "tap": lambda: sk.tap(lambda x: None),
    "scan": lambda: sk.scan(lambda a, x: a + x, 0),
    "take": lambda: sk.take(10),
    "skip": lambda: sk.skip(1),
    "distinct": lambda: sk.distinct(),
    "enumerate": lambda: sk.enumerate(),
    "flat_map": lambda: sk.flat_map(lambda x: [x, x]),
    "start_with": lambda: sk.start_with(0),
    "chain": lambda: sk.chain(sk.iterate([9])),
    "catch-other-type": lambda: sk.catch(sk.empty(), exceptions=KeyError),
    "retry-0": lambda: sk.retry(0),
    "spaceout": lambda: sk.spaceout(0.1),
    "throttle": lambda: sk.throttle(0.1),
    "merge": lambda: sk.merge(sk.never()),
    "zip": lambda: sk.zip(sk.iterate(range(100))),
    "buffer": lambda: sk.buffer(4),
    "debounce": lambda: sk.debounce(0.1),
    "heartbeat": lambda: sk.heartbeat(0.3, -1),
    "take_until": lambda: sk.take_until(1000.0),
    "timeout": lambda: sk.timeout(100),
    "map-async": lambda: sk.map(anyio_identity),
    "map-concurrent": lambda: sk.map(anyio_identity, concurrency=3),
    "switch_map": lambda: sk.switch_map(lambda x: sk.just(x)),
    "batch-size": lambda: sk.batch(2),
    "batch-max_wait": lambda: sk.batch(2, max_wait=0.5),
    "sample": lambda: sk.sample(0.5),
    "throttle-trailing": lambda: sk.throttle(0.5, trailing=True),
    "delay": lambda: sk.delay(0.5),
}


async def anyio_identity(x: Any) -> Any:
    await anyio.sleep(0.01)
    return x


@pytest.mark.parametrize("step", [pytest.param(make, id=name) for name, make in THROUGH.items()])
async def test_a_source_error_arrives_unchanged_with_its_traceback(step: Callable[[], Any]) -> None:
    log = Log()
    error, _ = await catch_from(log.source("src", [1, 2, 3], gap=1.0, then="boom") | step(), Boom)
    assert str(error) == "src failed"
    assert "raise_boom" in frames_of(error)
    assert log.balanced("src")
    assert live_pumps() == 0


async def test_a_source_error_through_push_arrives_unchanged() -> None:
    async def producer(channel: sk.Channel[int]) -> None:
        await channel.send(1)
        raise_boom("producer")

    error, received = await catch_from(sk.push(producer), Boom)
    assert received == [1] and "raise_boom" in frames_of(error)


# -- errors from user functions -------------------------------------------------------------------


async def oops_async(item: Any, *args: Any) -> Any:
    await anyio.sleep(0.01)
    return raise_oops(item)


def oops_on_2(item: Any, *args: Any) -> Any:
    return raise_oops(item) if item == 2 else item


async def oops_on_2_async(item: Any) -> Any:
    await anyio.sleep(0.01)
    return oops_on_2(item)


async def trigger_oops() -> None:
    await anyio.sleep(1.5)
    raise_oops("trigger")


async def producer_oops(channel: sk.Channel[int]) -> None:
    await channel.send(1)
    raise_oops("producer")


USER_FUNCTIONS: dict[str, Callable[[sk.Stream[Any]], sk.Stream[Any]]] = {
    "map": lambda s: s | sk.map(oops_on_2),
    "map-async": lambda s: s | sk.map(oops_on_2_async),
    "map-concurrent-ordered": lambda s: s | sk.map(oops_on_2_async, concurrency=3),
    "map-concurrent-unordered": lambda s: s | sk.map(oops_on_2_async, concurrency=3, ordered=False),
    "filter": lambda s: s | sk.filter(oops_on_2),
    "filter-async": lambda s: s | sk.filter(oops_on_2_async),
    "tap": lambda s: s | sk.tap(oops_on_2),
    "tap-async": lambda s: s | sk.tap(oops_on_2_async),
    "scan": lambda s: s | sk.scan(lambda acc, x: oops_on_2(x), 0),
    "flat_map": lambda s: s | sk.flat_map(lambda x: [oops_on_2(x)]),
    "take_while": lambda s: s | sk.take_while(oops_on_2),
    "skip_while": lambda s: s | sk.skip_while(lambda x: oops_on_2(x) is not None),
    "distinct-key": lambda s: s | sk.distinct(key=oops_on_2),
    "switch_map-function": lambda s: s | sk.switch_map(lambda x: sk.just(oops_on_2(x))),
    "switch_map-async-function": lambda s: s | sk.switch_map(oops_on_2_async_stream),
    "switch_map-inner-stream": lambda s: s | sk.switch_map(lambda x: sk.just(x) | sk.map(oops_on_2)),
    "catch-fallback": lambda s: (s | sk.map(lambda x: raise_boom("map") if x == 2 else x)) | sk.catch(lambda e: raise_oops(e)),
    "take_until-trigger": lambda s: s | sk.take_until(trigger_oops),
    "push-producer": lambda s: sk.push(producer_oops),
}


async def oops_on_2_async_stream(x: int) -> sk.Stream[int]:
    await anyio.sleep(0.01)
    return sk.just(oops_on_2(x))


@pytest.mark.parametrize("build", [pytest.param(build, id=name) for name, build in USER_FUNCTIONS.items()])
async def test_a_user_function_error_arrives_unchanged_with_its_traceback(build: Callable[[sk.Stream[Any]], sk.Stream[Any]]) -> None:
    log = Log()
    error, received = await catch_from(build(log.source("src", [1, 2, 3], gap=1.0, then="hang")), Oops)
    assert "raise_oops" in frames_of(error)
    assert 2 not in received
    assert log.balanced("src"), log.names
    assert live_pumps() == 0


# -- errors from sinks ----------------------------------------------------------------------------


class BrokenSink:
    """Takes ``good`` writes, then every write raises SinkBroke (the client went away)."""

    def __init__(self, good: int) -> None:
        self.good = good
        self.written: list[bytes] = []

    async def write(self, data: bytes) -> None:
        if len(self.written) >= self.good:
            broken_write(data)
        self.written.append(data)


def broken_write(data: bytes) -> None:
    raise SinkBroke(f"could not write {data!r}")


def frames(log: Log, then: str = "hang") -> sk.Stream[bytes]:
    """Two SSE frames, at t = 0 and t = 1, then ``then``."""
    return log.source("src", [b"data: 1\n\n", b"data: 2\n\n"], gap=1.0, first_gap=0.0, then=then)  # type: ignore[arg-type]


@pytest.mark.parametrize("good", [0, 1], ids=["first-write", "later-write"])
async def test_a_sink_error_arrives_unchanged_after_the_run_was_closed(good: int) -> None:
    log = Log()
    with pytest.raises(SinkBroke) as info:
        try:
            await sk.deliver(frames(log), BrokenSink(good))
        finally:
            closed_when_raised = log.balanced("src")
    assert type(info.value) is SinkBroke and "broken_write" in frames_of(info.value)
    assert closed_when_raised, "the sink's error reached the caller before the source was closed"
    assert live_pumps() == 0


async def test_a_keepalive_write_error_arrives_unchanged() -> None:
    # The heartbeat wheel writes the keep-alive (on asyncio, outside the writer's task); its
    # error still reaches deliver()'s caller as itself.
    log = Log()
    sink = BrokenSink(good=1)
    with pytest.raises(SinkBroke) as info:
        await sk.deliver(frames(log), sink, heartbeat=0.25, keepalive=b":\n")
    assert "broken_write" in frames_of(info.value) and "b':\\n'" in str(info.value)
    assert sink.written == [b"data: 1\n\n"] and log.balanced("src")


async def test_a_source_error_after_the_first_write_is_reported_with_its_traceback() -> None:
    log = Log()
    sink = BrokenSink(good=100)
    result = await sk.deliver(frames(log, then="boom"), sink, on_error=lambda e: f"event: error\ndata: {e}\n\n".encode())
    assert type(result.error) is Boom and "raise_boom" in frames_of(result.error)
    assert sink.written[-1] == b"event: error\ndata: src failed\n\n"


async def test_a_source_error_before_the_first_write_is_raised_unchanged() -> None:
    log = Log()
    error_source = log.source("src", [], then="boom")
    with pytest.raises(Boom) as info:
        await sk.deliver(error_source, BrokenSink(good=100))
    assert "raise_boom" in frames_of(info.value) and log.balanced("src")


# -- concurrent operators: an error cancels the siblings first ------------------------------------


async def test_merge_error_cancels_the_other_sources_first() -> None:
    log = Log()
    pipeline = log.source("src", [1, 2], then="boom") | sk.merge(log.source("a", [10], then="hang"), log.source("b", [], then="hang"))
    with pytest.raises(Boom):
        try:
            await pipeline.list()
        except Boom:
            # Still inside the consumer's except: the siblings are already closed.
            assert log.balanced("a") and log.balanced("b") and log.count("a:close") == 1, log.names
            raise
    assert log.time_of("a:close") == log.time_of("src:close") == 2.0


async def test_concurrent_map_error_cancels_the_calls_in_flight_first() -> None:
    log = Log()
    slow = log.function("slow", 100.0)

    async def fail_on_2(x: int) -> int:
        if x == 2:
            await anyio.sleep(0.5)
            raise_oops(x)
        return int(await slow(x))

    pipeline = log.source("src", [1, 2, 3, 4], gap=0.1, then="hang") | sk.map(fail_on_2, concurrency=3)
    with pytest.raises(Oops) as info:
        try:
            await pipeline.list()
        except Oops:
            assert log.count("slow:call") == 2 and log.count("slow:done") == 2, log.names
            assert log.balanced("src"), log.names
            raise
    assert "raise_oops" in frames_of(info.value)
    assert log.time_of("slow:done") == 0.7  # item 2 started at 0.2 and failed 0.5 s later


async def test_zip_error_cancels_the_other_source_first() -> None:
    log = Log()
    pipeline = log.source("src", [1, 2, 3], then="hang") | sk.zip(log.source("other", [1], then="boom"))
    with pytest.raises(Boom):
        try:
            await pipeline.list()
        except Boom:
            assert log.balanced("src") and log.count("src:close") == 1, log.names
            raise


@pytest.mark.parametrize("failing", ["inner", "outer"])
async def test_switch_map_error_cancels_the_other_side_first(failing: str) -> None:
    log = Log()

    def inner(x: int) -> sk.Stream[int]:
        return log.source("inner", [x], gap=0.5, then="boom" if failing == "inner" else "hang")

    outer = log.source("src", [1], gap=1.0, then="hang" if failing == "inner" else "boom")
    with pytest.raises(Boom):
        try:
            await (outer | sk.switch_map(inner)).list()
        except Boom:
            assert log.balanced("src") and log.balanced("inner"), log.names
            raise


async def test_take_until_trigger_error_closes_the_source_first() -> None:
    log = Log()
    with pytest.raises(Oops):
        try:
            await (log.source("src", range(100), gap=1.0) | sk.take_until(trigger_oops)).list()
        except Oops:
            assert log.balanced("src"), log.names
            raise


async def test_errors_are_never_grouped_even_when_two_parts_fail_at_once() -> None:
    # Two sources fail at the same instant: the consumer still gets one plain exception.
    log = Log()
    pipeline = log.source("a", [1], then="boom") | sk.merge(log.source("b", [1], then="boom"))
    with pytest.raises(Boom) as info:
        await pipeline.list()
    assert type(info.value) is Boom and log.balanced("a") and log.balanced("b")


async def test_an_error_in_the_consumer_closes_the_run_and_stays_unchanged() -> None:
    log = Log()
    pipeline = log.source("src", range(100), gap=1.0) | sk.merge(log.source("other", [], then="hang")) | sk.buffer(2)
    with pytest.raises(Oops) as info:
        async with pipeline.open() as items:
            async for item in items:
                if item == 3:
                    raise_oops(item)
    assert "raise_oops" in frames_of(info.value)
    assert log.balanced("src") and log.balanced("other") and live_pumps() == 0


# -- no internal exception in the chain -------------------------------------------------------------


def chain_of(error: BaseException) -> list[BaseException]:
    """``error`` and every exception it was raised from or while handling."""
    seen: list[BaseException] = []
    current: BaseException | None = error
    while current is not None and current not in seen:
        seen.append(current)
        current = current.__cause__ or current.__context__
    return seen


@pytest.mark.parametrize("step", THROUGH.values(), ids=THROUGH.keys())
async def test_a_timeout_while_waiting_carries_no_internal_exception(step: Callable[[], Any]) -> None:
    # A consumer that times out (or is interrupted) while a pipeline waits for its next item sees
    # the timeout, with no "during handling of WouldBlock" from streamkit's internals above it.
    channel: sk.Channel[int] = sk.Channel()
    with pytest.raises(TimeoutError) as info:
        with anyio.fail_after(1000):
            async with (channel | step()).open() as items:
                async for _ in items:
                    pass
    internal = [type(e).__name__ for e in chain_of(info.value) if type(e).__module__.startswith(("streamkit", "anyio"))]
    assert internal == [], f"the timeout was raised while handling {internal}"


async def test_a_client_gone_while_idle_carries_no_internal_exception() -> None:
    class Gone(Exception):
        pass

    class Sink:
        writes = 0

        async def write(self, data: bytes) -> None:
            self.writes += 1
            if self.writes > 1:  # the first frame goes through; the first keep-alive meets a closed socket
                raise Gone

    channel: sk.Channel[str] = sk.Channel()

    async def feed() -> None:
        await channel.send("hello")

    async with anyio.create_task_group() as tg:
        tg.start_soon(feed)
        with pytest.raises(Gone) as info:
            await sk.deliver(channel | sk.to_sse(), Sink(), heartbeat=5)
        channel.close()
    internal = [type(e).__name__ for e in chain_of(info.value) if type(e).__module__.startswith(("streamkit", "anyio"))]
    assert internal == [], f"the sink error was raised while handling {internal}"
