"""ns per item through map -> filter -> map: plain async generators, streamkit, aiostream.

Run:  .venv/bin/python benchmarks/operators.py [N]

All three are measured in the same run on the same machine, in CPU time, each timed a few
times with the best run kept (the least disturbed by the rest of the machine). The target (DESIGN.md,
contract 7) is streamkit at most 1.3x the plain chain: adjacent sync stages fuse into one
generator, so a streamkit pipeline has fewer async-generator hops per item than a hand-written
chain of them. A benchmark, not a test: it prints figures and asserts nothing.
"""

from __future__ import annotations

import asyncio
import sys
import time
from collections.abc import AsyncIterable, AsyncIterator, Awaitable, Callable

import streamkit as sk

N = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
ROUNDS = 3
TARGET = 1.3


def inc(x: int) -> int:
    return x + 1


def not_third(x: int) -> bool:
    return x % 3 != 0


def double(x: int) -> int:
    return x * 2


EXPECTED = sum(1 for n in range(N) if not_third(inc(n)))


# -- (a) plain chained async generators ------------------------------------------------------------


async def plain_source(n: int) -> AsyncIterator[int]:
    for item in range(n):
        yield item


async def plain_map(function: Callable[[int], int], source: AsyncIterable[int]) -> AsyncIterator[int]:
    async for item in source:
        yield function(item)


async def plain_filter(predicate: Callable[[int], bool], source: AsyncIterable[int]) -> AsyncIterator[int]:
    async for item in source:
        if predicate(item):
            yield item


async def run_plain() -> int:
    count = 0
    async for _ in plain_map(double, plain_filter(not_third, plain_map(inc, plain_source(N)))):
        count += 1
    return count


# -- (b) streamkit ---------------------------------------------------------------------------------


async def run_streamkit() -> int:
    count = 0
    async for _ in sk.iterate(range(N)) | sk.map(inc) | sk.filter(not_third) | sk.map(double):
        count += 1
    return count


async def run_streamkit_with_a_pump() -> int:
    # Not part of the target: the same chain plus one background hop (buffer), for scale.
    count = 0
    async for _ in sk.iterate(range(N)) | sk.map(inc) | sk.filter(not_third) | sk.map(double) | sk.buffer(64):
        count += 1
    return count


# -- (c) aiostream ---------------------------------------------------------------------------------


async def run_aiostream() -> int:
    from aiostream import pipe, stream

    count = 0
    chain = stream.iterate(range(N)) | pipe.map(inc) | pipe.filter(not_third) | pipe.map(double)
    async with chain.stream() as items:
        async for _ in items:
            count += 1
    return count


# -- measuring -------------------------------------------------------------------------------------


async def ns_per_item(run: Callable[[], Awaitable[int]]) -> float:
    # CPU time of this process: the figures then depend less on what else the machine runs
    # (the whole benchmark is one thread that never waits for I/O, so it equals wall time on
    # an idle machine).
    start = time.process_time()
    count = await run()
    elapsed = time.process_time() - start
    if count != EXPECTED:
        raise AssertionError(f"{run.__name__} produced {count} items, expected {EXPECTED}")
    return elapsed / N * 1e9


async def best_ns_per_item(run: Callable[[], Awaitable[int]], rounds: int) -> float:
    return min([await ns_per_item(run) for _ in range(rounds)])


async def main() -> None:
    print(f"{N:,} integers through map -> filter -> map (Python {sys.version.split()[0]}, asyncio)")
    # Alternate the two compared runs, so a change in the machine's load hits both alike.
    plain = streamkit = float("inf")
    for _ in range(ROUNDS):
        plain = min(plain, await ns_per_item(run_plain))
        streamkit = min(streamkit, await ns_per_item(run_streamkit))
    print(f"  (a) plain async generators  {plain:8.1f} ns/item")
    print(f"  (b) streamkit               {streamkit:8.1f} ns/item")
    try:
        aiostream: float | None = await best_ns_per_item(run_aiostream, 1)
    except ImportError:
        aiostream = None
        print("  (c) aiostream               not installed (pip install 'streamkit[aiostream]')")
    else:
        print(f"  (c) aiostream               {aiostream:8.1f} ns/item")
    pumped = await best_ns_per_item(run_streamkit_with_a_pump, 1)
    print(f"      streamkit + buffer(64)  {pumped:8.1f} ns/item  (one background hop, for scale)")
    print()
    verdict = "meets" if streamkit <= TARGET * plain else "MISSES"
    print(f"  streamkit / plain      = {streamkit / plain:5.2f}x   ({verdict} the <= {TARGET}x target)")
    if aiostream is not None:
        print(f"  aiostream / streamkit  = {aiostream / streamkit:5.2f}x")


if __name__ == "__main__":
    asyncio.run(main())
