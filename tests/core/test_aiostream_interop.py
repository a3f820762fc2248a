"""aiostream interop, both ways (asyncio only: aiostream calls asyncio directly).

- an aiostream pipe step on a streamkit Stream: ``sk_stream | aiostream.pipe.map(f)``, since
  streamkit's ``|`` calls any callable step with the stream, and aiostream's pipe steps are
  callables ``AsyncIterable -> aiostream Stream``;
- a streamkit step on an aiostream stream: ``aiostream.stream.range(5) | sk.map(f)``, since
  aiostream's ``|`` calls ``step(self)`` too, and streamkit steps take any async iterable.

aiostream's iterators warn when read outside their ``async with`` context; streamkit enters it.
"""

from __future__ import annotations

from typing import Any

import anyio
import pytest

import streamkit as sk
from streamkit.testing import VirtualTimeLoop, record
from tests.core.core_helpers import Boom, Kit

aiostream = pytest.importorskip("aiostream")
from aiostream import pipe, stream  # noqa: E402


@pytest.fixture
def anyio_backend() -> tuple[str, dict[str, Any]]:
    return "asyncio", {"loop_factory": VirtualTimeLoop}


async def read_aiostream(xs: Any) -> list[Any]:
    async with xs.stream() as items:
        return [item async for item in items]


async def test_aiostream_step_on_a_streamkit_stream() -> None:
    xs = sk.iterate(range(5)) | sk.filter(lambda x: x % 2 == 0) | pipe.map(lambda x: x * 10)
    assert isinstance(xs, aiostream.core.Stream)
    assert await read_aiostream(xs) == [0, 20, 40]
    assert await read_aiostream(xs) == [0, 20, 40]  # both are cold: a second run starts afresh
    assert await (sk.iterate([1, 2, 3]) | pipe.list()) == [1, 2, 3]


async def test_streamkit_step_on_an_aiostream_stream() -> None:
    ys = stream.range(5) | sk.map(lambda x: x + 1)
    assert isinstance(ys, sk.Stream)
    assert await ys.list() == [1, 2, 3, 4, 5]
    assert await ys.list() == [1, 2, 3, 4, 5]
    assert await sk.iterate(stream.range(3)).list() == [0, 1, 2]
    assert await (stream.range(3) | sk.merge(stream.just(10))).count() == 4


async def test_mixed_chain_both_ways() -> None:
    chain = stream.range(10) | sk.filter(lambda x: x % 3 == 0) | pipe.map(str) | sk.map(lambda s: s + "!") | sk.take(3)
    assert await chain.list() == ["0!", "3!", "6!"]


async def test_time_operators_mix_on_the_virtual_clock() -> None:
    assert await record(stream.count(interval=1.0) | sk.throttle(2.5) | sk.take(3)) == [(0, 0), (3, 3), (6, 6)]
    assert await record(sk.interval(1) | pipe.take(2) | sk.map(str)) == [(1, "0"), (2, "1")]


async def test_early_stop_through_aiostream_closes_the_streamkit_source() -> None:
    kit = Kit()
    xs = kit.source([1, 2, 3], then="hang") | pipe.map(lambda x: x * 2) | sk.take(1)
    assert await xs.list() == [2]
    kit.assert_closed()


async def test_early_stop_closes_an_aiostream_source() -> None:
    closed = anyio.Event()

    async def numbers() -> Any:
        try:
            for n in range(100):
                yield n
        finally:
            closed.set()

    async with (stream.iterate(numbers()) | sk.map(str)).open() as items:
        async for item in items:
            assert item == "0"
            break
    assert closed.is_set()


async def test_errors_cross_both_ways_with_their_type() -> None:
    kit = Kit()
    with pytest.raises(Boom):
        await read_aiostream(kit.source([1], then="boom") | pipe.map(str))
    kit.assert_closed()

    def fails(x: int) -> int:
        raise Boom("in aiostream")

    with pytest.raises(Boom):
        await (stream.range(3) | pipe.map(fails) | sk.map(str)).list()
