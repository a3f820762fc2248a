"""Types that survive piping: checked by ``mypy --strict`` in test_typing.py, never run or collected.

Every ``assert_type`` is a claim about what a user's type checker sees. The ``# type: ignore``
lines claim the opposite: a mistyped pipeline *is* rejected (``--strict`` turns on
``warn_unused_ignores``, so an ignore that is not needed is itself an error).

A lambda inside a step gets no parameter type from the stream (mypy checks the right operand
of ``|`` on its own). filter and tap take a lambda through a last overload with an ``Any``
parameter and keep the stream's item type; the price is that a named predicate of the wrong
parameter type is no longer rejected. map has no such overload: it would turn every function
returning ``Any`` (``json.loads``) into an ``Any`` pipeline, so with map use a named,
annotated function.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiostream
import anyio
from typing_extensions import assert_type

import streamkit as sk
from streamkit import Stream


def double(x: int) -> int:
    return x * 2


def is_even(x: int) -> bool:
    return x % 2 == 0


def add(total: int, x: int) -> int:
    return total + x


def describe(x: int) -> str:
    return f"#{x}"


async def fetch(x: int) -> bytes:
    return str(x).encode()


def letters(x: int) -> list[str]:
    return ["a"] * x


def words(x: int) -> Stream[str]:
    return sk.iterate(["w"] * x)


def shout(text: str) -> str:
    return text.upper()


async def tokens() -> AsyncIterator[str]:
    yield "hello"


async def producer(channel: sk.Channel[float]) -> None:
    await channel.send(1.5)


async def check() -> None:
    numbers = sk.iterate([1, 2, 3])
    assert_type(numbers, Stream[int])

    # transform
    assert_type(sk.iterate([1]) | sk.map(str), Stream[str])
    assert_type(numbers | sk.map(double), Stream[int])
    assert_type(numbers | sk.map(describe), Stream[str])
    assert_type(numbers | sk.map(fetch), Stream[bytes])
    assert_type(numbers | sk.map(fetch, concurrency=4, ordered=False), Stream[bytes])
    assert_type(numbers | sk.filter(is_even), Stream[int])
    assert_type(numbers | sk.tap(print), Stream[int])
    assert_type(numbers | sk.scan(add, 0), Stream[int])
    assert_type(numbers | sk.flat_map(letters), Stream[str])
    assert_type(numbers | sk.flat_map(words), Stream[str])
    assert_type(numbers | sk.start_with(0), Stream[int])
    assert_type(numbers | sk.start_with("header"), Stream[int | str])
    assert_type(numbers | sk.distinct(), Stream[int])
    assert_type(numbers | sk.enumerate(), Stream[tuple[int, int]])

    # select
    assert_type(sk.iterate([1]) | sk.take(2), Stream[int])
    assert_type(numbers | sk.take_while(is_even, inclusive=True), Stream[int])
    assert_type(numbers | sk.take_until(anyio.Event()), Stream[int])
    assert_type(numbers | sk.take_until(5.0), Stream[int])
    assert_type(numbers | sk.skip(1) | sk.skip_while(is_even), Stream[int])

    # time
    assert_type(numbers | sk.throttle(1.0, trailing=True), Stream[int])
    assert_type(numbers | sk.debounce(0.5) | sk.sample(1.0), Stream[int])
    assert_type(numbers | sk.batch(10), Stream[list[int]])
    assert_type(numbers | sk.batch(10, max_wait=0.5), Stream[list[int]])
    assert_type(numbers | sk.timeout(5, total=60), Stream[int])
    assert_type(numbers | sk.spaceout(0.1) | sk.delay(1.0), Stream[int])
    assert_type(numbers | sk.heartbeat(15.0, "ping"), Stream[int | str])

    # combine
    assert_type(numbers | sk.merge(sk.iterate(["a"])), Stream[int | str])
    assert_type(numbers | sk.chain(sk.iterate([b"x"])), Stream[int | bytes])
    assert_type(numbers | sk.zip(sk.iterate(["a"])), Stream[tuple[int, str]])
    assert_type(numbers | sk.zip(sk.iterate(["a"]), sk.iterate([1.5])), Stream[tuple[int, str, float]])
    assert_type(numbers | sk.buffer(8, overflow="drop_oldest"), Stream[int])
    assert_type(numbers | sk.catch(sk.just("fallback")), Stream[int | str])
    assert_type(numbers | sk.retry(3, before_first_item=True), Stream[int])
    assert_type(numbers | sk.switch_map(words), Stream[str])

    # a long chain keeps its types end to end
    chained = numbers | sk.map(double) | sk.filter(is_even) | sk.take(5) | sk.map(describe) | sk.batch(2)
    assert_type(chained, Stream[list[str]])

    # sources
    assert_type(sk.iterate(tokens()), Stream[str])
    assert_type(sk.iterate(range(3), thread=True), Stream[int])
    assert_type(sk.just(b"x"), Stream[bytes])
    assert_type(sk.interval(1.0), Stream[int])
    assert_type(sk.timer(1.0), Stream[None])
    assert_type(sk.timer(1.0, "ring"), Stream[str])
    assert_type(sk.from_file("app.log"), Stream[str])
    assert_type(sk.from_file("app.bin", "bytes"), Stream[bytes])
    assert_type(sk.Channel[str]() | sk.map(shout), Stream[str])
    assert_type(sk.push(producer), Stream[float])

    # an aiostream stream as a source, and a streamkit step on one
    assert_type(sk.iterate(aiostream.stream.range(3)), Stream[int])
    assert_type(aiostream.stream.range(3) | sk.map(describe), Stream[str])

    # terminal helpers
    assert_type(await numbers.list(), list[int])
    assert_type(await numbers.first(), int)
    assert_type(await numbers.count(), int)
    assert_type(await numbers.reduce(add), int)
    assert_type(await numbers.reduce(lambda acc, x: acc + str(x), ""), str)
    async with numbers.open() as run:
        async for item in run:
            assert_type(item, int)

    # lambdas type-check; filter and tap keep the item type
    assert_type(numbers | sk.filter(lambda n: n > 1), Stream[int])
    assert_type(numbers | sk.tap(lambda n: None), Stream[int])

    # mistyped pipelines are rejected where the step's own type says so
    numbers | sk.map(shout)  # type: ignore[arg-type]
    sk.iterate(["a"]) | sk.scan(add, 0)  # type: ignore[arg-type]
