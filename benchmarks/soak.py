"""Soak: open and drop many SSE connections, then show that nothing was left behind.

The longer version of ``tests/reliability/test_soak.py`` (same load, same checks, more rounds
and connections). The server runs in a thread of this process, so its tasks, streamkit's pumps,
threads, file descriptors and memory can be counted; the clients run in a process of their own.
Every client kind (reads to the end, leaves midway, never reads, stops reading while the
server's writes back up, resets the connection) comes in turn.

Run:  python -m benchmarks.soak [--asgi 2000,4000,4000,4000] [--wsgi 500,1000,1000] [--trace]
                                [--baseline]

``--trace`` measures memory with tracemalloc too (slower, exact). ``--baseline`` also serves the
same streams through a bare Starlette ``StreamingResponse`` under the same load and prints the
ratio of connections per second, and how many source runs were still open (their ``finally``
not yet run) 0.5 s after the load: Starlette never closes its iterator on a disconnect.
Loopback only; every connection and every wait is bounded. Nothing is asserted here.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import threading
import time
import tracemalloc
from collections.abc import Iterator
from typing import Any

import streamkit as sk
from tests.reliability.soak_load import SSE_TYPE, Report, Sources, Target, asgi_target, run_round, soak, wsgi_target
from tests.servers import free_port


def rounds(text: str) -> list[int]:
    return [int(part) for part in text.split(",") if part]


@contextlib.contextmanager
def starlette_target() -> Iterator[Target]:
    """The same streams through Starlette's StreamingResponse under uvicorn (no streamkit sink)."""
    from starlette.applications import Starlette
    from starlette.responses import StreamingResponse
    from starlette.routing import Route

    import uvicorn

    sources = Sources()

    async def endpoint(request: Any) -> StreamingResponse:
        stream = sources.stream(sk.Request("GET", request.url.path, "", {}))
        return StreamingResponse(stream, media_type=SSE_TYPE)

    port = free_port()
    server = uvicorn.Server(uvicorn.Config(Starlette(routes=[Route("/{kind}", endpoint)]), port=port, log_level="error", lifespan="off"))
    thread = threading.Thread(target=server.run, name="uvicorn-starlette", daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.01)
    try:
        yield Target("starlette StreamingResponse (uvicorn)", f"http://127.0.0.1:{port}", sources, lambda: None)
    finally:
        server.should_exit = True
        thread.join(10)


def throughput(target: Target, connections: int, concurrency: int) -> tuple[float, int]:
    """Connections per second for one round, and source runs still open 0.5 s after it."""
    run_round(target, 50, concurrency)
    seconds, _ = run_round(target, connections, concurrency)
    time.sleep(0.5)
    gc.collect()
    return connections / seconds, target.sources.open_runs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--asgi", type=rounds, default=rounds("1000,3000,3000,3000"), help="connections per ASGI round")
    parser.add_argument("--wsgi", type=rounds, default=rounds("250,500,500,500"), help="connections per WSGI round")
    parser.add_argument("--concurrency", type=int, default=50, help="ASGI clients at a time (WSGI: 8, waitress's threads)")
    parser.add_argument("--trace", action="store_true", help="also measure memory with tracemalloc")
    parser.add_argument("--baseline", action="store_true", help="compare with Starlette's StreamingResponse")
    options = parser.parse_args()
    if options.trace:
        tracemalloc.start()

    reports: list[Report] = []
    if options.asgi:
        with asgi_target() as target:
            reports.append(soak(target, options.asgi, options.concurrency))
    if options.wsgi:
        with wsgi_target() as target:
            reports.append(soak(target, options.wsgi, 8, warmup=20))
    for report in reports:
        print(report.table())
        leaks = [
            f"source runs not finished: {report.sources_started - report.sources_closed}",
            f"steady growth of allocated blocks: {report.steady_growth('blocks'):+d}",
            f"steady RSS growth: {report.steady_growth('rss') / 2**20:+.2f} MiB",
        ]
        if report.baseline.traced is not None:
            leaks.append(f"steady traced growth: {report.steady_growth('traced') / 1024:+.1f} KiB")
        print("  " + "; ".join(leaks) + f"; warnings or errors logged: {len(report.errors)}")
        for message in report.errors[:10]:
            print(f"    {message}")
        print()

    if options.baseline:
        connections = max(options.asgi or [1000])
        with asgi_target() as target:
            ours, ours_open = throughput(target, connections, options.concurrency)
        with starlette_target() as target:
            theirs, theirs_open = throughput(target, connections, options.concurrency)
        print(f"{connections} connections, {options.concurrency} at a time, same streams and clients:")
        print(f"  streamkit.asgi:                 {ours:7.0f} conn/s, source runs still open 0.5 s later: {ours_open}")
        print(f"  Starlette StreamingResponse:    {theirs:7.0f} conn/s, source runs still open 0.5 s later: {theirs_open}")
        print(f"  streamkit.asgi / StreamingResponse: {ours / theirs:.2f}x connections per second")


if __name__ == "__main__":
    main()
