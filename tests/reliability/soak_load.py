"""Open and drop many SSE connections against a real server, then check that nothing is left.

Shared by ``tests/reliability/test_soak.py`` (bounded, in the suite) and ``benchmarks/soak.py``
(longer, prints the same figures). The server runs in a thread of this process, so its event
loop's tasks, streamkit's pumps, threads, file descriptors and memory can all be counted here.
Loopback only; every connection and every wait is bounded in time.

Clients behave as real ones do when they go wrong, in turn:

- ``full``: reads the whole (finite) stream to its end;
- ``midway``: reads three events of an endless stream, then closes;
- ``never``: sends the request and closes at once, reading nothing;
- ``hold``: sends the request, reads nothing for a while (the server's writes back up: large
  frames fill the socket buffers), then closes;
- ``reset``: reads the first bytes, then aborts the connection with a TCP reset.

The clients run in a separate process (``python -m tests.reliability.soak_load URL N
CONCURRENCY``), so they neither compete with the server for this process's GIL nor show up in
its memory.

>>> with asgi_target() as target:                             # doctest: +SKIP
...     report = soak(target, rounds=[350, 550, 550, 550], concurrency=50)
>>> print(report.table())
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import gc
import itertools
import logging
import os
import socket
import struct
import subprocess
import sys
import threading
import time
import tracemalloc
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import anyio
import psutil

import streamkit as sk
from streamkit._core import blocking
from streamkit._core.tasks import live_pumps
from streamkit._framing.sse import ServerSentEvent
from streamkit._sinks import lines
from streamkit._sinks.wsgi import wsgi
from tests import httpclient as http
from tests.servers import free_port, in_thread, wsgi_server

KINDS = ("full", "midway", "never", "hold", "reset")
FULL_EVENTS = 20
HOLD_SECONDS = 0.05
BIG_FRAME = b"data: " + b"x" * (64 * 1024) + b"\n\n"
CONNECTION_TIMEOUT = 15.0
SETTLE_TIMEOUT = 20.0
SSE_TYPE = "text/event-stream; charset=utf-8"


class Sources:
    """The streams the server runs, one per request; counts runs started and finished (``finally``)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.started = 0
        self.closed = 0

    def stream(self, request: sk.Request) -> sk.Stream[bytes]:
        kind = request.path.strip("/")
        # A realistic pipeline: encode, read ahead in the background, bound the whole run.
        return self._tracked(kind) | sk.map(_encode) | sk.buffer(4) | sk.timeout(60)

    def _tracked(self, kind: str) -> sk.Stream[Any]:
        async def run() -> AsyncIterator[Any]:
            with self._lock:
                self.started += 1
            try:
                if kind == "full":
                    for n in range(FULL_EVENTS):
                        await anyio.sleep(0.001)
                        yield n
                elif kind == "hold":
                    while True:  # as fast as the client takes it: the server's writes back up
                        yield BIG_FRAME
                else:
                    for n in itertools.count():
                        await anyio.sleep(0.002)
                        yield n
            finally:
                with self._lock:
                    self.closed += 1

        return sk.Stream(run)

    @property
    def open_runs(self) -> int:
        return self.started - self.closed


def _encode(item: Any) -> bytes:
    if isinstance(item, bytes):
        return item
    return ServerSentEvent(str(item), id=str(item)).encode()


# -- targets: a server in a thread of this process, whose loop can be inspected ------------------


@dataclass
class Target:
    """A running server: where it listens, its sources, and how to count its event loop's tasks."""

    name: str
    url: str
    sources: Sources
    loop: Callable[[], asyncio.AbstractEventLoop | None]

    def tasks(self) -> int:
        """Tasks of the server's event loop right now (-1 before it served a request)."""
        loop = self.loop()
        if loop is None:
            return -1
        answer: concurrent.futures.Future[int] = concurrent.futures.Future()
        loop.call_soon_threadsafe(lambda: answer.set_result(len(asyncio.all_tasks(loop))))
        return answer.result(timeout=5)


@contextlib.contextmanager
def asgi_target(heartbeat: float = 0.05) -> Iterator[Target]:
    """``streamkit.asgi`` under uvicorn (through ``streamkit.server``), in a thread."""
    sources = Sources()
    app = sk.asgi(sources.stream, media_type=SSE_TYPE, heartbeat=heartbeat)
    seen: list[asyncio.AbstractEventLoop] = []

    async def hooked(scope: Any, receive: Any, send: Any) -> None:
        # The small hook: remember the server's loop, to count its tasks from outside.
        if not seen:
            seen.append(asyncio.get_running_loop())
        await app(scope, receive, send)

    port = free_port()
    with in_thread(sk.server(hooked, port=port, log_level="error", lifespan="off")):
        yield Target("asgi (uvicorn)", f"http://127.0.0.1:{port}", sources, lambda: seen[0] if seen else None)


@contextlib.contextmanager
def wsgi_target(heartbeat: float = 0.05) -> Iterator[Target]:
    """``streamkit.wsgi`` under waitress (8 threads); the pipelines run on streamkit's loop thread."""
    sources = Sources()
    app = wsgi(sources.stream, media_type=SSE_TYPE, heartbeat=heartbeat)

    def streamkit_loop() -> asyncio.AbstractEventLoop | None:
        thread = blocking._loop_thread
        return None if thread is None else thread.loop

    # waitress warns each time a request waits for a free thread; under this load that is expected.
    queue_log = logging.getLogger("waitress.queue")
    level = queue_log.level
    queue_log.setLevel(logging.ERROR)
    try:
        with wsgi_server(app, "waitress") as url:
            yield Target("wsgi (waitress)", url, sources, streamkit_loop)
    finally:
        queue_log.setLevel(level)


# -- measuring ------------------------------------------------------------------------------------


def open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


def thread_ids() -> frozenset[int]:
    return frozenset(thread.ident or 0 for thread in threading.enumerate())


def fd_targets() -> frozenset[str]:
    """Every open descriptor with what it points at (a socket's inode, a file, a pipe)."""
    targets = set()
    for fd in os.listdir("/proc/self/fd"):
        try:
            targets.add(f"{fd} -> {os.readlink(f'/proc/self/fd/{fd}')}")
        except OSError:  # closed while listing (the listing's own descriptor among them)
            pass
    return frozenset(targets)


def live_lines() -> int:
    """Responses still registered with the heartbeat wheel, in every loop."""
    return sum(len(loop.lines) for loop in list(lines._loops.values()))


@dataclass
class Snapshot:
    tasks: int
    pumps: int
    threads: int
    fds: int
    lines: int
    traced: int | None
    rss: int
    blocks: int
    thread_ids: frozenset[int] = frozenset()
    fd_targets: frozenset[str] = frozenset()

    def new_threads(self, baseline: Snapshot) -> int:
        """Threads running now that were not running at ``baseline``."""
        return len(self.thread_ids - baseline.thread_ids)

    def new_fds(self, baseline: Snapshot) -> list[str]:
        """Descriptors open now that were not open at ``baseline``."""
        return sorted(self.fd_targets - baseline.fd_targets)

    @classmethod
    def take(cls, target: Target) -> Snapshot:
        gc.collect()
        return cls(
            tasks=target.tasks(),
            pumps=live_pumps(),
            threads=threading.active_count(),
            fds=open_fds(),
            lines=live_lines(),
            traced=tracemalloc.get_traced_memory()[0] if tracemalloc.is_tracing() else None,
            rss=psutil.Process().memory_info().rss,
            blocks=sys.getallocatedblocks(),
            thread_ids=thread_ids(),
            fd_targets=fd_targets(),
        )


@dataclass
class Round:
    connections: int
    seconds: float
    reached_app: int
    settle_seconds: float
    after: Snapshot


@dataclass
class Report:
    target: str
    concurrency: int
    baseline: Snapshot
    rounds: list[Round] = field(default_factory=list)
    sources_started: int = 0
    sources_closed: int = 0
    errors: list[str] = field(default_factory=list)
    """Warnings and errors logged in this process during the soak (the server's and streamkit's)."""

    @property
    def connections(self) -> int:
        return sum(r.connections for r in self.rounds)

    def growth(self, attribute: str) -> list[int]:
        """How much ``attribute`` grew from the end of each round to the end of the next, from round 2 on.

        Round 1 pays for one-time costs (caches, lazily imported modules, allocator arenas that
        RSS never gives back), so the comparison starts at round 2, as DESIGN.md says.
        """
        values = [getattr(r.after, attribute) for r in self.rounds[1:]]
        return [int(b - a) for a, b in zip(values, values[1:])]

    def steady_growth(self, attribute: str) -> int:
        """The smallest round-to-round growth: a leak grows every round, a one-time cost only once."""
        return min(self.growth(attribute))

    def table(self) -> str:
        kib = 1024
        head = (
            f"{self.target}: {self.connections} connections, {self.concurrency} at a time, kinds {'/'.join(KINDS)}; "
            f"sources started {self.sources_started}, finished {self.sources_closed}; "
            f"{len(self.errors)} warning(s) or error(s) logged\n"
            f"{'round':>5} {'conns':>6} {'secs':>6} {'conn/s':>7} {'in app':>6} {'settle':>7} {'tasks':>5} "
            f"{'pumps':>5} {'thrds':>5} {'fds':>4} {'lines':>5} {'traced KiB':>10} {'RSS MiB':>8} {'blocks':>8}\n"
        )
        b = self.baseline
        rows = [
            f"{'base':>5} {'':>6} {'':>6} {'':>7} {'':>6} {'':>7} {b.tasks:>5} {b.pumps:>5} {b.threads:>5} {b.fds:>4} "
            f"{b.lines:>5} {_kib(b.traced):>10} {b.rss / kib / kib:>8.1f} {b.blocks:>8}"
        ]
        for n, r in enumerate(self.rounds, 1):
            s = r.after
            rows.append(
                f"{n:>5} {r.connections:>6} {r.seconds:>6.2f} {r.connections / r.seconds:>7.0f} {r.reached_app:>6} "
                f"{r.settle_seconds:>6.2f}s {s.tasks:>5} {s.pumps:>5} {s.threads:>5} {s.fds:>4} {s.lines:>5} "
                f"{_kib(s.traced):>10} {s.rss / kib / kib:>8.1f} {s.blocks:>8}"
            )
        if len(self.rounds) >= 3:
            traced = "n/a" if b.traced is None else ", ".join(f"{g / kib:+.1f}" for g in self.growth("traced")) + " KiB"
            rss = ", ".join(f"{g / kib / kib:+.2f}" for g in self.growth("rss"))
            blocks = ", ".join(f"{g:+d}" for g in self.growth("blocks"))
            rows.append(f"growth round to round from round 2: traced {traced}; RSS {rss} MiB; allocated blocks {blocks}")
        return head + "\n".join(rows)


def _kib(value: int | None) -> str:
    return "n/a" if value is None else f"{value / 1024:.0f}"


def settle(target: Target, baseline: Snapshot, timeout: float = SETTLE_TIMEOUT) -> float:
    """Wait until every source has finished and the server is back to its baseline; return the seconds."""
    start = time.monotonic()
    while True:
        sources = target.sources
        left = {
            "open source runs": sources.open_runs,
            "extra server tasks": target.tasks() - baseline.tasks,
            "extra pumps": live_pumps() - baseline.pumps,
            "new threads": len(thread_ids() - baseline.thread_ids),
            "new fds": len(fd_targets() - baseline.fd_targets),
            "registered responses": live_lines() - baseline.lines,
        }
        if all(value <= 0 for value in left.values()):
            return time.monotonic() - start
        if time.monotonic() - start > timeout:
            raise AssertionError(f"{target.name}: not back to baseline {timeout} s after the load: {left}")
        time.sleep(0.01)


def quiescent(target: Target, pumps: int, timeout: float = SETTLE_TIMEOUT) -> None:
    """Wait until no source runs, no response is registered, and tasks and fds have stopped changing."""
    start = time.monotonic()
    last: tuple[int, int, int] | None = None
    steady_since = time.monotonic()
    while True:
        now = (target.tasks(), open_fds(), threading.active_count())
        if now != last:
            last, steady_since = now, time.monotonic()
        idle = target.sources.open_runs == 0 and live_lines() == 0 and live_pumps() == pumps
        if idle and time.monotonic() - steady_since > 0.3:
            return
        if time.monotonic() - start > timeout:
            raise AssertionError(f"{target.name}: the server did not become idle within {timeout} s")
        time.sleep(0.02)


def run_round(target: Target, connections: int, concurrency: int) -> tuple[float, int]:
    """Open ``connections`` connections from a client process; return the seconds and how many reached the app.

    The client runs in a process of its own so that it does not compete with the server for
    this process's GIL (and so that the memory measured here is the server's alone).
    """
    started_before = target.sources.started
    start = time.monotonic()
    command = [sys.executable, "-m", "tests.reliability.soak_load", target.url, str(connections), str(concurrency)]
    timeout = CONNECTION_TIMEOUT + connections * CONNECTION_TIMEOUT / concurrency
    done = subprocess.run(command, capture_output=True, text=True, timeout=timeout, cwd=_PROJECT)
    if done.returncode != 0:
        raise AssertionError(f"the soak client failed ({done.returncode}):\n{done.stderr[-3000:]}")
    return time.monotonic() - start, target.sources.started - started_before


class _Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        text = f"{record.name} {record.levelname}: {record.getMessage()}"
        if record.exc_info and record.exc_info[1] is not None:
            text += f" ({type(record.exc_info[1]).__name__}: {record.exc_info[1]})"
        self.messages.append(text)


def soak(target: Target, rounds: Sequence[int], concurrency: int, warmup: int = 50) -> Report:
    """Warm up, take the baseline once idle, run the rounds (each followed by a wait for the baseline).

    A client going away is normal for a streaming server: nothing should be logged as a warning
    or an error meanwhile, so everything that is ends up in ``Report.errors``.
    """
    collect = _Collect()
    root = logging.getLogger()
    root.addHandler(collect)
    # Below WARNING nothing is asserted, and records kept by a capturing handler (pytest's, when
    # an earlier test turned INFO on) would grow with every connection and look like a leak.
    quieted = {name: logging.getLogger(name).level for name in ("", "waitress", "uvicorn", "uvicorn.error", "streamkit")}
    for name in quieted:
        logging.getLogger(name).setLevel(logging.WARNING)
    try:
        pumps = live_pumps()
        run_round(target, warmup, concurrency)
        quiescent(target, pumps)
        baseline = Snapshot.take(target)
        report = Report(target.name, concurrency, baseline)
        for connections in rounds:
            seconds, reached = run_round(target, connections, concurrency)
            settled = settle(target, baseline)
            report.rounds.append(Round(connections, seconds, reached, settled, Snapshot.take(target)))
    finally:
        root.removeHandler(collect)
        for name, level in quieted.items():
            logging.getLogger(name).setLevel(level)
    report.sources_started = target.sources.started
    report.sources_closed = target.sources.closed
    report.errors = collect.messages
    return report


# -- the client process ---------------------------------------------------------------------------


async def connect(url: str, kind: str) -> None:
    """One client connection of the given kind, bounded in time."""
    path = f"{url}/{kind}"
    with anyio.fail_after(CONNECTION_TIMEOUT):
        if kind == "full":
            async with http.stream("GET", path) as response:
                body = await response.read_all()
            events = body.count(b"\n\n")
            if events != FULL_EVENTS:
                raise AssertionError(f"a full read got {events} events, not {FULL_EVENTS}")
        elif kind == "midway":
            async with http.stream("GET", path) as response:
                await response.read_until(b"\n\n", 3)
        else:
            port = int(url.rsplit(":", 1)[1])
            sock = await anyio.connect_tcp("127.0.0.1", port)
            try:
                await sock.send(f"GET /{kind} HTTP/1.1\r\nHost: soak\r\nAccept: text/event-stream\r\n\r\n".encode())
                if kind == "hold":
                    await anyio.sleep(HOLD_SECONDS)
                elif kind == "reset":
                    await sock.receive()
                    raw = sock.extra(anyio.abc.SocketAttribute.raw_socket)
                    # SO_LINGER with a zero timeout: close() sends RST instead of FIN.
                    raw.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            finally:
                await sock.aclose()


async def client(url: str, connections: int, concurrency: int) -> None:
    """``connections`` connections, ``concurrency`` at a time, the kinds in turn."""
    limiter = anyio.CapacityLimiter(concurrency)

    async def one(kind: str) -> None:
        async with limiter:
            await connect(url, kind)

    async with anyio.create_task_group() as tg:
        for kind in itertools.islice(itertools.cycle(KINDS), connections):
            tg.start_soon(one, kind)


_PROJECT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

if __name__ == "__main__":
    anyio.run(client, sys.argv[1], int(sys.argv[2]), int(sys.argv[3]))
