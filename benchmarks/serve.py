"""Throughput of one SSE response of 100,000 small events over uvicorn on loopback.

Compares a bare Starlette ``StreamingResponse`` of pre-formatted strings, sse-starlette's
``EventSourceResponse`` and ``streamkit.asgi``, each server in its own process, read by a raw
socket client as fast as it can. Prints events/s, server CPU per event, and ratios to the
bare response. Run: ``python -m benchmarks.serve [events] [rounds]``.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time

import psutil

KINDS = ("bare", "sse-starlette", "streamkit")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start(kind: str, count: int | None, heartbeat: float = 15.0) -> tuple[subprocess.Popen[bytes], int]:
    """Start a ``benchmarks._apps`` server in its own process; wait until it accepts connections.

    ``count`` events then the end, or (None) one event then idle with heartbeats.
    """
    port = free_port()
    env = dict(os.environ, BENCH_HEARTBEAT=str(heartbeat))
    length = "-" if count is None else str(count)
    process = subprocess.Popen([sys.executable, "-m", "benchmarks._apps", kind, str(port), length], env=env)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return process, port
        except OSError:
            time.sleep(0.05)
    process.kill()
    raise RuntimeError(f"{kind} server did not start")


def read_stream(port: int, count: int) -> tuple[float, int]:
    """Seconds to receive the whole response, and how many events arrived."""
    with socket.create_connection(("127.0.0.1", port)) as sock:
        started = time.perf_counter()
        sock.sendall(b"GET / HTTP/1.1\r\nHost: bench\r\nConnection: close\r\n\r\n")
        received = 0
        data_lines = 0
        tail = b""
        while True:
            chunk = sock.recv(1 << 18)
            if not chunk:
                break
            received += len(chunk)
            window = tail + chunk
            data_lines += window.count(b"\ndata: ") + (1 if not tail and window.startswith(b"data: ") else 0)
            tail = chunk[-8:]
        return time.perf_counter() - started, data_lines


def measure(kind: str, count: int) -> tuple[float, float]:
    process, port = start(kind, count)
    try:
        server = psutil.Process(process.pid)
        cpu_before = sum(server.cpu_times()[:2])
        seconds, events = read_stream(port, count)
        cpu = sum(server.cpu_times()[:2]) - cpu_before
        if events < count * 0.99:
            raise RuntimeError(f"{kind}: received {events} of {count} events")
        return count / seconds, cpu / count
    finally:
        process.terminate()
        process.wait(10)


def main() -> None:
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
    rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 3
    results: dict[str, list[tuple[float, float]]] = {kind: [] for kind in KINDS}
    for _ in range(rounds):  # interleaved, so drift on a noisy machine hits every kind alike
        for kind in KINDS:
            results[kind].append(measure(kind, count))
    best = {kind: max(runs) for kind, runs in results.items()}
    base_rate = best["bare"][0]
    print(f"{count:,} SSE events over uvicorn (h11) on 127.0.0.1, best of {rounds}")
    print(f"{'server':<16}{'events/s':>12}{'CPU µs/event':>15}{'vs bare':>10}")
    for kind in KINDS:
        rate, cpu = best[kind]
        print(f"{kind:<16}{rate:>12,.0f}{cpu * 1e6:>15.2f}{rate / base_rate:>9.2f}×")


if __name__ == "__main__":
    main()
