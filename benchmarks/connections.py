"""Idle SSE connections: what each costs the server in memory and heartbeat CPU.

For N idle connections (default 1,000, 5,000 and 10,000), opened in batches by this process
on raw asyncio sockets to a server in another process, compare ``streamkit.asgi``,
sse-starlette's ``EventSourceResponse`` and a bare Starlette ``StreamingResponse`` (which
sends no heartbeats at all): server RSS per connection, server CPU per heartbeat with
heartbeats every 15 s and every 1 s, time until all N have their first bytes, and time until
the server's file descriptors are back to baseline after the clients close.

Run: ``python -m benchmarks.connections [N ...] [--kinds bare,streamkit] [--heartbeats 15,1]``. Loopback only; every wait is bounded.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import os
import subprocess
import time

import psutil

from benchmarks.serve import start

KINDS = ("bare", "floor", "sse-starlette", "streamkit")
BATCH = 500
IDLE_SECONDS = {1.0: 10.0, 15.0: 31.0}


async def open_one(port: int) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(b"GET / HTTP/1.1\r\nHost: bench\r\n\r\n")
    data = b""
    while b"hello" not in data:
        chunk = await asyncio.wait_for(reader.read(4096), 30)
        if not chunk:
            raise ConnectionError("closed before the first event")
        data += chunk
    return reader, writer


# What each server's keep-alive looks like on the wire, to count the heartbeats the client got.
KEEPALIVES = {"floor": b"2\r\n:\n\r\n", "streamkit": b"2\r\n:\n\r\n", "sse-starlette": b": ping"}


async def drain(reader: asyncio.StreamReader, keepalive: bytes | None, received: list[int]) -> None:
    """Read as a browser would, so no send buffer fills up; count keep-alives into ``received``."""
    carry = b""  # a keep-alive may be split between two reads
    while chunk := await reader.read(4096):
        if keepalive is not None:
            data = carry + chunk
            received[0] += data.count(keepalive)
            # Neither marker overlaps itself, so a carried tail cannot be counted twice.
            carry = data[1 - len(keepalive) :]


def cpu_seconds(process: psutil.Process) -> float:
    """CPU time of ``process`` (user and system) to the nanosecond where Linux tells it.

    ``cpu_times()`` counts in clock ticks (10 ms): too coarse for 1,000 connections' heartbeats.
    """
    try:
        total = 0
        for thread in os.listdir(f"/proc/{process.pid}/task"):
            with open(f"/proc/{process.pid}/task/{thread}/schedstat") as stats:
                total += int(stats.read().split()[0])
        return total / 1e9
    except OSError:
        user, system = process.cpu_times()[:2]
        return float(user + system)


async def run(kind: str, n: int, heartbeat: float) -> dict[str, float]:
    process, port = start(kind, None, heartbeat)
    server = psutil.Process(process.pid)
    try:
        await asyncio.sleep(0.5)
        # Warm up (imports, first-request paths) before the baseline.
        warm = [await open_one(port) for _ in range(20)]
        for _, writer in warm:
            writer.close()
        await asyncio.sleep(0.5)
        rss0, fds0 = server.memory_info().rss, server.num_fds()
        started = time.perf_counter()
        connections = []
        for first in range(0, n, BATCH):
            connections += await asyncio.gather(*(open_one(port) for _ in range(first, min(n, first + BATCH))))
        first_bytes = time.perf_counter() - started
        received = [0]
        keepalive = KEEPALIVES.get(kind)
        readers = [asyncio.ensure_future(drain(reader, keepalive, received)) for reader, _ in connections]
        await asyncio.sleep(2.0)
        rss = server.memory_info().rss
        window = IDLE_SECONDS[heartbeat]
        user0, cpu0 = server.cpu_times().user, cpu_seconds(server)
        beats0 = received[0]
        await asyncio.sleep(window)
        user1, cpu1 = server.cpu_times().user, cpu_seconds(server)
        # The heartbeats the clients got in the window, not window / period: a server may beat a
        # little early or late, and with 15 s periods a 31 s window holds two or three beats.
        heartbeats = received[0] - beats0
        idle_user, idle_cpu = user1 - user0, cpu1 - cpu0
        closing = time.perf_counter()
        for _, writer in connections:
            writer.close()
        for task in readers:
            task.cancel()
        await asyncio.gather(*readers, return_exceptions=True)
        await asyncio.sleep(0)  # the transports' close callbacks: now every socket is closed
        closed = time.perf_counter()
        deadline = time.perf_counter() + 30
        while server.num_fds() > fds0 and time.perf_counter() < deadline:
            await asyncio.sleep(0.01)
        fds_back = time.perf_counter() - closed if server.num_fds() <= fds0 else float("inf")
        return {
            "kib_per_conn": (rss - rss0) / n / 1024,
            "cpu_us_per_beat": idle_cpu / heartbeats * 1e6 if heartbeats else float("nan"),
            "user_us_per_beat": idle_user / heartbeats * 1e6 if heartbeats else float("nan"),
            "idle_cpu_s": idle_cpu,
            "heartbeats": heartbeats,
            "beats_per_conn_period": heartbeats / n / (window / heartbeat),
            "first_bytes_s": first_bytes,
            "client_close_s": closed - closing,
            "fds_back_s": fds_back,
        }
    finally:
        process.terminate()
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:  # a server still busy closing thousands of streams
            process.kill()
            process.wait(10)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("sizes", nargs="*", type=int, default=[1_000, 5_000, 10_000])
    parser.add_argument("--kinds", default=",".join(KINDS), help="comma-separated, from " + ", ".join(KINDS))
    parser.add_argument("--heartbeats", default="15,1", help="comma-separated periods in seconds, from 15 and 1")
    args = parser.parse_args()
    kinds = ["bare", *(kind for kind in args.kinds.split(",") if kind != "bare")]
    print(
        "µs/beat: server CPU (user+system) per heartbeat; user: of which Python; net: less the bare server's\n"
        "idle CPU in the same window (uvicorn's own idle cost, no heartbeats), i.e. what the heartbeats add\n"
        "(the floor is no uvicorn: its net is its raw cost);\n"
        "beats/T: keep-alives the clients received per connection and heartbeat period (1.0: exactly on time)"
    )
    print(
        f"{'N':>6} {'server':<14}{'hb s':>5}{'KiB/conn':>10}{'µs/beat':>9}{'user':>6}{'net':>6}{'beats/T':>8}{'idle CPU s':>11}"
        f"{'first bytes s':>14}{'client close s':>15}{'fds back s':>11}"
    )
    for n in args.sizes:
        for heartbeat in (float(period) for period in args.heartbeats.split(",")):
            base: dict[str, float] = {}
            for kind in kinds:
                r = asyncio.run(run(kind, n, heartbeat))
                base = r if kind == "bare" else base
                # The floor is no uvicorn: it has no idle cost of uvicorn's to take away.
                idle_cost = 0.0 if kind == "floor" else base["idle_cpu_s"]
                net = (r["idle_cpu_s"] - idle_cost) / r["heartbeats"] * 1e6 if r["heartbeats"] else math.nan
                extra = f"  (+{r['kib_per_conn'] - base['kib_per_conn']:.1f} KiB vs bare)" if kind != "bare" else ""
                print(
                    f"{n:>6} {kind:<14}{heartbeat:>5.0f}{r['kib_per_conn']:>10.1f}{r['cpu_us_per_beat']:>9.1f}{r['user_us_per_beat']:>6.1f}"
                    f"{net:>6.1f}{r['beats_per_conn_period']:>8.2f}{r['idle_cpu_s']:>11.3f}{r['first_bytes_s']:>14.2f}{r['client_close_s']:>15.2f}{r['fds_back_s']:>11.2f}{extra}",
                    flush=True,
                )


if __name__ == "__main__":
    main()
