"""µs per item through share() with 1, 2 and 8 consumers, and through iterate_sync's hand-off.

share() with one consumer does what buffer() does (a pump hands items over a mailbox), so
buffer(64) is its natural baseline; each further consumer adds one mailbox and one generator.

Run:  .venv/bin/python benchmarks/sharing.py [N]

Baselines are measured in the same run: one plain consumer of the same source (for share), and
``await stream.list()`` on the loop thread (for iterate_sync). Each figure is the best of a few
rounds, in wall time (the hand-off crosses threads, so CPU time would hide the waits). A
benchmark, not a test: it prints figures and asserts nothing. The hand-off's cost is dominated by
how fast this machine wakes a thread, which the last line measures on its own.
"""

from __future__ import annotations

import asyncio
import queue
import sys
import threading
import time
from collections.abc import Callable

import anyio

import streamkit as sk
from streamkit._core.blocking import iterate_sync, run_sync
from streamkit._core.share import share

N = int(sys.argv[1]) if len(sys.argv) > 1 else 200_000
ROUNDS = 3


def best(run: Callable[[], object]) -> float:
    times = []
    for _ in range(ROUNDS):
        started = time.perf_counter()
        run()
        times.append(time.perf_counter() - started)
    return min(times) / N * 1e6


def shared_consumers(count: int) -> None:
    async def main() -> None:
        shared = sk.iterate(range(N)) | share(buffer=64)
        async with anyio.create_task_group() as tg:
            for _ in range(count):
                tg.start_soon(shared.count)

    anyio.run(main)


def plain() -> None:
    anyio.run(sk.iterate(range(N)).count)


def buffered() -> None:
    anyio.run((sk.iterate(range(N)) | sk.buffer(64)).count)


def thread_round_trip() -> float:
    """µs for one wake-up of another thread and back (asyncio loop <-> plain thread)."""
    trips = 2_000

    async def main() -> float:
        loop = asyncio.get_running_loop()
        to_thread: queue.Queue[int] = queue.Queue(1)
        back = asyncio.Event()

        def echo() -> None:
            for _ in range(trips):
                to_thread.get()
                loop.call_soon_threadsafe(back.set)

        worker = threading.Thread(target=echo)
        worker.start()
        started = time.perf_counter()
        for n in range(trips):
            back.clear()
            to_thread.put(n)
            await back.wait()
        elapsed = time.perf_counter() - started
        worker.join()
        return elapsed / trips * 1e6

    return asyncio.run(main())


def main() -> None:
    print(f"N = {N:,} items, best of {ROUNDS}")
    base = best(plain)
    print(f"one plain consumer (no share)       {base:7.2f} µs/item")
    hop = best(buffered)
    print(f"buffer(64): one pump, one mailbox   {hop:7.2f} µs/item   {hop / base:5.1f}x")
    for count in (1, 2, 8):
        cost = best(lambda: shared_consumers(count))
        print(f"share(), {count} consumer(s)            {cost:7.2f} µs/item   {cost / base:5.1f}x")
    run_sync(sk.just(0).list())  # start the loop thread outside the timings
    on_loop = best(lambda: run_sync(sk.iterate(range(N)).count()))
    print(f"await count() on the loop thread    {on_loop:7.2f} µs/item")
    for buffer in (1, 16, 256):
        cost = best(lambda: sum(1 for _ in iterate_sync(sk.iterate(range(N)), buffer=buffer)))
        print(f"iterate_sync(buffer={buffer:<3})           {cost:7.2f} µs/item   {cost / on_loop:5.1f}x")
    print(f"one thread round trip on this host  {thread_round_trip():7.2f} µs")


if __name__ == "__main__":
    main()
