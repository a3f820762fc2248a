"""Soak: open and drop thousands of SSE connections, then nothing may be left behind.

Each test serves a stream per request through a pipeline with background work (``buffer``,
``timeout``) and heartbeats, drives it with clients that read to the end, leave midway, never
read, stop reading while the server's writes back up, or reset the connection, and then checks
that every source's ``finally`` ran and that the server is back to its baseline: no extra task
in its event loop, no streamkit pump, no thread, no file descriptor, no response registered
with the heartbeat wheel, and no memory growth from one round of the same load to the next.

Both run on the real clock and are plain (synchronous) tests: the server runs in a thread of
this process, the clients in a process of their own (see ``soak_load``).
"""

from __future__ import annotations

import tracemalloc

from tests.reliability.soak_load import KINDS, Report, asgi_target, soak, wsgi_target

ASGI_ROUNDS = [350, 550, 550, 550]  # 2,000 connections after a warm-up of 50
WSGI_ROUNDS = [125, 125, 125, 125]  # 500


def check(report: Report, rounds: list[int], *, traced_margin: int | None, rss_margin: int) -> None:
    print()
    print(report.table())
    assert report.connections == sum(rounds)
    assert report.sources_started == report.sources_closed, "a source's finally did not run"
    assert report.errors == [], "clients going away made the server log warnings or errors"
    # Every client that read something reached the app; those that left at once may not have.
    readers = sum(1 for n in range(sum(rounds)) if KINDS[n % len(KINDS)] in ("full", "midway", "reset"))
    assert sum(r.reached_app for r in report.rounds) >= readers
    base = report.baseline
    for n, r in enumerate(report.rounds, 1):
        after = r.after
        assert (after.tasks, after.pumps, after.lines) == (base.tasks, base.pumps, 0), f"round {n}"
        assert after.new_threads(base) == 0, f"round {n}: {after.new_threads(base)} thread(s) left running"
        assert after.new_fds(base) == [], f"round {n}: file descriptor(s) left open"
    # A leak grows every round; one-time costs (caches, allocator arenas) grow once.
    per_round = rounds[-1]
    assert report.steady_growth("blocks") < per_round // 2, "Python objects grow with every round of connections"
    if traced_margin is not None:
        assert report.steady_growth("traced") < traced_margin, "traced memory grows with every round"
    assert report.steady_growth("rss") < rss_margin, "RSS grows with every round"


def test_asgi_2000_connections_under_uvicorn_leave_nothing_behind() -> None:
    with asgi_target() as target:
        report = soak(target, ASGI_ROUNDS, concurrency=50)
    check(report, ASGI_ROUNDS, traced_margin=None, rss_margin=4 << 20)


def test_wsgi_500_connections_under_waitress_leave_nothing_behind() -> None:
    # waitress has 8 threads: more clients at once would only queue.
    tracemalloc.start()
    try:
        with wsgi_target() as target:
            report = soak(target, WSGI_ROUNDS, concurrency=8, warmup=20)
    finally:
        tracemalloc.stop()
    check(report, WSGI_ROUNDS, traced_margin=128 << 10, rss_margin=4 << 20)
