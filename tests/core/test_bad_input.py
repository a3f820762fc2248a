"""Bad input fails when the pipeline is built, with TypeError/ValueError naming the argument.

Nothing here runs a stream: every error must come from the call that builds the step or source.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from typing import Any

import pytest

import streamkit as sk


async def anoop(x: Any) -> Any:
    return x


async def never_used(channel: sk.Channel[Any]) -> None:
    pass


BAD: list[tuple[str, Callable[[], object], type[Exception], str]] = [
    # (id, the call, the error type, text the message must contain)
    # transform
    ("map-not-callable", lambda: sk.map(5), TypeError, "map(function)"),
    ("map-concurrency-zero", lambda: sk.map(anoop, concurrency=0), ValueError, "concurrency"),
    ("map-concurrency-float", lambda: sk.map(anoop, concurrency=2.5), TypeError, "concurrency"),
    ("map-concurrency-sync", lambda: sk.map(str, concurrency=2), ValueError, "concurrency"),
    ("filter-not-callable", lambda: sk.filter(None), TypeError, "filter(predicate)"),
    ("tap-not-callable", lambda: sk.tap("print"), TypeError, "tap(function)"),
    ("scan-not-callable", lambda: sk.scan(0, 0), TypeError, "scan(function)"),
    ("flat_map-not-callable", lambda: sk.flat_map([1]), TypeError, "flat_map(function)"),
    ("distinct-key-not-callable", lambda: sk.distinct(key="id"), TypeError, "distinct(key)"),
    ("enumerate-start-str", lambda: sk.enumerate("0"), TypeError, "start"),
    # select
    ("take-negative", lambda: sk.take(-1), ValueError, "take(count)"),
    ("take-float", lambda: sk.take(1.5), TypeError, "take(count)"),
    ("take-bool", lambda: sk.take(True), TypeError, "take(count)"),
    ("take_while-not-callable", lambda: sk.take_while(3), TypeError, "take_while(predicate)"),
    ("take_while-inclusive-str", lambda: sk.take_while(bool, inclusive="yes"), TypeError, "inclusive"),
    ("take_until-str", lambda: sk.take_until("soon"), TypeError, "take_until(trigger)"),
    ("take_until-negative", lambda: sk.take_until(-1), ValueError, "take_until(deadline)"),
    ("take_until-nan", lambda: sk.take_until(math.nan), ValueError, "take_until(deadline)"),
    ("take_until-bool", lambda: sk.take_until(True), TypeError, "take_until(trigger)"),
    ("skip-negative", lambda: sk.skip(-1), ValueError, "skip(count)"),
    ("skip_while-not-callable", lambda: sk.skip_while(None), TypeError, "skip_while(predicate)"),
    # time
    ("throttle-negative", lambda: sk.throttle(-1), ValueError, "throttle(interval)"),
    ("throttle-zero", lambda: sk.throttle(0), ValueError, "throttle(interval)"),
    ("throttle-str", lambda: sk.throttle("1"), TypeError, "throttle(interval)"),
    ("throttle-inf", lambda: sk.throttle(math.inf), ValueError, "throttle(interval)"),
    ("throttle-neither-edge", lambda: sk.throttle(1, leading=False), ValueError, "leading"),
    ("debounce-zero", lambda: sk.debounce(0), ValueError, "debounce(period)"),
    ("sample-negative", lambda: sk.sample(-0.5), ValueError, "sample(period)"),
    ("batch-nothing", lambda: sk.batch(), ValueError, "size"),
    ("batch-size-zero", lambda: sk.batch(0), ValueError, "batch(size)"),
    ("batch-size-str", lambda: sk.batch("10"), TypeError, "batch(size)"),
    ("batch-max_wait-zero", lambda: sk.batch(max_wait=0), ValueError, "batch(max_wait)"),
    ("batch-max_wait-negative", lambda: sk.batch(5, max_wait=-1), ValueError, "batch(max_wait)"),
    ("timeout-nothing", lambda: sk.timeout(), ValueError, "seconds"),
    ("timeout-negative", lambda: sk.timeout(-1), ValueError, "timeout(seconds)"),
    ("timeout-total-zero", lambda: sk.timeout(total=0), ValueError, "timeout(total)"),
    ("spaceout-negative", lambda: sk.spaceout(-1), ValueError, "spaceout(interval)"),
    ("delay-negative", lambda: sk.delay(-1), ValueError, "delay(seconds)"),
    ("delay-max_buffer-zero", lambda: sk.delay(1, max_buffer=0), ValueError, "delay(max_buffer)"),
    ("heartbeat-zero", lambda: sk.heartbeat(0, "ping"), ValueError, "heartbeat(period)"),
    ("heartbeat-str", lambda: sk.heartbeat("15", "ping"), TypeError, "heartbeat(period)"),
    # combine
    ("merge-not-a-stream", lambda: sk.merge(5), TypeError, "merge(): argument 1"),
    ("merge-sync-list", lambda: sk.merge(sk.just(1), [1, 2]), TypeError, "merge(): argument 2"),
    ("chain-not-a-stream", lambda: sk.chain("abc"), TypeError, "chain(): argument 1"),
    ("zip-nothing", lambda: sk.zip(), TypeError, "zip()"),
    ("zip-not-a-stream", lambda: sk.zip(5), TypeError, "zip(): argument 1"),
    ("buffer-zero", lambda: sk.buffer(0), ValueError, "buffer(size)"),
    ("buffer-overflow-unknown", lambda: sk.buffer(2, overflow="block"), ValueError, "buffer(overflow"),
    ("catch-not-callable", lambda: sk.catch(5), TypeError, "catch(fallback)"),
    ("catch-exceptions-not-a-type", lambda: sk.catch(sk.empty(), exceptions=5), TypeError, "catch(exceptions)"),
    ("catch-exceptions-base", lambda: sk.catch(sk.empty(), exceptions=BaseException), TypeError, "catch(exceptions)"),
    ("retry-negative", lambda: sk.retry(-1), ValueError, "retry(retries)"),
    ("retry-backoff-negative", lambda: sk.retry(1, backoff=-1), ValueError, "retry(backoff)"),
    ("retry-factor-small", lambda: sk.retry(1, factor=0.5), ValueError, "retry(factor)"),
    ("retry-exceptions-str", lambda: sk.retry(1, exceptions="KeyError"), TypeError, "retry(exceptions)"),
    ("retry-exceptions-tuple", lambda: sk.retry(1, exceptions=(KeyError, 5)), TypeError, "retry(exceptions)"),
    ("switch_map-not-callable", lambda: sk.switch_map(None), TypeError, "switch_map(function)"),
    # sources
    ("iterate-int", lambda: sk.iterate(5), TypeError, "iterate()"),
    ("iterate-thread-str", lambda: sk.iterate([1], thread="yes"), TypeError, "thread"),
    ("iterate-thread-async", lambda: sk.iterate(sk.just(1), thread=True), ValueError, "thread=True"),
    ("interval-zero", lambda: sk.interval(0), ValueError, "period"),
    ("interval-negative", lambda: sk.interval(-1), ValueError, "period"),
    ("interval-str", lambda: sk.interval("1s"), TypeError, "period"),
    ("interval-inf", lambda: sk.interval(math.inf), ValueError, "period"),
    ("timer-negative", lambda: sk.timer(-1), ValueError, "delay"),
    ("from_file-mode", lambda: sk.from_file("x.log", mode="line"), ValueError, "mode"),
    ("from_file-path-int", lambda: sk.from_file(3), TypeError, "path"),
    ("from_file-chunk_size", lambda: sk.from_file("x.log", chunk_size=0), ValueError, "chunk_size"),
    ("from_file-poll_interval", lambda: sk.from_file("x.log", poll_interval=0), ValueError, "poll_interval"),
    ("channel-max_buffer", lambda: sk.Channel(max_buffer=0), ValueError, "max_buffer"),
    ("push-not-callable", lambda: sk.push(None), TypeError, "push(producer)"),
    ("push-max_buffer", lambda: sk.push(never_used, max_buffer=-1), ValueError, "max_buffer"),
    # the stream itself
    ("stream-not-callable", lambda: sk.Stream([1, 2]), TypeError, "Stream(open"),
    ("pipe-not-a-step", lambda: sk.just(1) | 5, TypeError, "piped into a step"),
]


@pytest.mark.parametrize(("call", "error", "text"), [pytest.param(*row[1:], id=row[0]) for row in BAD])
def test_bad_input_fails_at_construction(call: Callable[[], object], error: type[Exception], text: str) -> None:
    with pytest.raises(error, match=re.escape(text)):
        call()


async def test_wait_refuses_negative_seconds() -> None:
    with pytest.raises(ValueError, match="seconds"):
        await sk.wait(-1)


async def test_channel_wait_refuses_negative_seconds() -> None:
    with pytest.raises(ValueError, match="seconds"):
        await sk.Channel[int]().wait(-1)


async def test_flat_map_and_switch_map_name_a_bad_return_value() -> None:
    with pytest.raises(TypeError, match=re.escape("flat_map(function) must return an iterable")):
        await (sk.just(1) | sk.flat_map(lambda x: x)).list()
    with pytest.raises(TypeError, match=re.escape("switch_map(function) must return a stream")):
        await (sk.just(1) | sk.switch_map(lambda x: [x])).list()
