"""iterate_sync() and run_sync(): streams from plain synchronous code (real clock, real threads)."""

from __future__ import annotations

import gc
import signal
import socket
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import AsyncIterator, Iterator
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

import anyio
import anyio.to_thread
import pytest

import streamkit as sk
from streamkit._core.blocking import iterate_sync, run_sync
from streamkit._core.share import share

CLEANUP_BOUND = 5.0
"""Generous bound for cleanup that must *happen* on the real clock (DESIGN.md, section 7)."""


class Source:
    """A real-clock source: ``n`` every ``gap`` seconds; records in a thread-safe way when its
    ``finally`` has run and how many items it produced."""

    def __init__(self, limit: int | None = None, gap: float = 0.0) -> None:
        self.limit = limit
        self.gap = gap
        self.produced = 0
        self.started = threading.Event()
        self.closed = threading.Event()
        self.runs = 0

    async def numbers(self) -> AsyncIterator[int]:
        self.runs += 1
        self.started.set()
        try:
            n = 0
            while self.limit is None or n < self.limit:
                if self.gap:
                    await anyio.sleep(self.gap)
                self.produced += 1
                yield n
                n += 1
        finally:
            self.closed.set()

    def stream(self) -> sk.Stream[int]:
        return sk.Stream(self.numbers)


class SourceBroke(Exception):
    pass


def _warm_up() -> None:
    """Start the shared loop thread, so comparisons of threads see it in both snapshots."""
    assert run_sync(sk.just(1).list()) == [1]


# -- iterate_sync --------------------------------------------------------------------------


def test_iterating_from_a_plain_thread_gives_every_item() -> None:
    results: list[str] = []
    stream = sk.iterate(range(50)) | sk.filter(lambda n: n % 7 == 0) | sk.map(str)

    def worker() -> None:
        results.extend(iterate_sync(stream))

    thread = threading.Thread(target=worker)
    thread.start()
    thread.join(CLEANUP_BOUND)
    assert results == ["0", "7", "14", "21", "28", "35", "42", "49"]


def test_closing_early_runs_the_sources_finally_before_close_returns() -> None:
    source = Source(gap=0.01)
    items = iterate_sync(source.stream())
    assert [next(items), next(items), next(items)] == [0, 1, 2]
    assert not source.closed.is_set()
    started = time.perf_counter()
    assert items.close() is True
    print(f"close() took {(time.perf_counter() - started) * 1000:.2f} ms")
    assert source.closed.is_set()  # no waiting: close() returned after the cleanup
    assert next(items, "ended") == "ended"
    assert items.close() is True  # again: harmless


def test_the_with_block_closes_the_run_at_its_end() -> None:
    source = Source()
    with iterate_sync(source.stream()) as items:
        for item in items:
            if item == 5:
                break
    assert source.closed.is_set()


def test_no_thread_is_left_after_close() -> None:
    _warm_up()
    before = set(threading.enumerate())
    source = Source(gap=0.001)

    def worker() -> None:
        with iterate_sync(source.stream() | sk.merge(sk.interval(0.002)) | sk.buffer(4)) as items:
            for n, _ in enumerate(items):
                if n == 20:
                    break

    thread = threading.Thread(target=worker)
    thread.start()
    thread.join(CLEANUP_BOUND)
    assert source.closed.is_set()
    leftover = set(threading.enumerate()) - before
    assert not leftover, f"threads left behind: {leftover}"
    assert [t.name for t in threading.enumerate() if t.name.startswith("streamkit")] == ["streamkit-loop"]


def test_close_from_another_thread_ends_a_blocked_next() -> None:
    source = Source(gap=3600.0)  # never produces within the test
    items = iterate_sync(source.stream())
    outcome: list[object] = []

    def reader() -> None:
        outcome.append(next(items, "ended"))

    thread = threading.Thread(target=reader)
    thread.start()
    assert source.started.wait(CLEANUP_BOUND)
    time.sleep(0.05)  # let it block in next()
    assert items.close(timeout=CLEANUP_BOUND) is True
    thread.join(CLEANUP_BOUND)
    assert outcome == ["ended"]
    assert source.closed.is_set()


def test_close_with_a_timeout_reports_a_slow_cleanup() -> None:
    done = threading.Event()

    async def slow_cleanup() -> AsyncIterator[int]:
        try:
            yield 1
            await anyio.sleep_forever()
        finally:
            with anyio.CancelScope(shield=True):
                await anyio.sleep(0.5)
            done.set()

    items = iterate_sync(sk.Stream(slow_cleanup))
    assert next(items) == 1
    assert items.close(timeout=0.01) is False
    assert items.close(timeout=CLEANUP_BOUND) is True
    assert done.is_set()


def test_an_iterator_dropped_without_close_still_stops_its_run() -> None:
    source = Source()
    for item in iterate_sync(source.stream()):
        if item == 3:
            break
    gc.collect()
    assert source.closed.wait(CLEANUP_BOUND)


def test_errors_keep_their_type_across_the_thread() -> None:
    async def failing() -> AsyncIterator[int]:
        yield 1
        raise SourceBroke("upstream said no")

    items = iterate_sync(sk.Stream(failing))
    assert next(items) == 1
    with pytest.raises(SourceBroke, match="upstream said no"):
        next(items)
    assert next(items, "exhausted") == "exhausted"  # raised once, then the iterator is done


def test_errors_from_background_pumps_keep_their_type_too() -> None:
    async def failing() -> AsyncIterator[int]:
        await anyio.sleep(0.01)
        raise SourceBroke("in a merged source")
        yield 0  # pragma: no cover

    with pytest.raises(SourceBroke, match="in a merged source"):
        list(iterate_sync(sk.never() | sk.merge(sk.Stream(failing))))


def test_the_hand_off_is_bounded() -> None:
    source = Source()
    with iterate_sync(source.stream(), buffer=4) as items:
        assert next(items) == 0
        deadline = time.monotonic() + CLEANUP_BOUND
        while source.produced < 5 and time.monotonic() < deadline:
            time.sleep(0.01)
        time.sleep(0.1)
        # Four went into the hand-off and a fifth waits in the producer's hand; taking one
        # does not wake the producer yet (it waits until half the buffer is free).
        assert source.produced == 5
        assert [next(items), next(items)] == [1, 2]
        deadline = time.monotonic() + CLEANUP_BOUND
        while source.produced < 7 and time.monotonic() < deadline:
            time.sleep(0.01)
        time.sleep(0.1)
        # Never more than taken + buffer + the one in hand (3 + 4 + 1); whether the producer
        # refilled before or after the third take decides between 7 and 8.
        assert source.produced in (7, 8)


def test_bad_arguments_are_named() -> None:
    with pytest.raises(TypeError, match="iterate_sync\\(\\) takes a stream or async iterable, got \\[1, 2\\]; wrap a sync iterable with streamkit.iterate\\(\\)"):
        iterate_sync([1, 2])  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="iterate_sync\\(buffer\\) must be >= 1"):
        iterate_sync(sk.just(1), buffer=0)


def test_two_threads_reading_one_shared_stream_see_the_same_run() -> None:
    runs = 0

    async def tokens() -> AsyncIterator[int]:
        nonlocal runs
        runs += 1
        yield 0
        while shared.consumers < 3:  # the gate and both readers
            await anyio.sleep(0.001)
        for n in range(1, 200):
            yield n

    shared = sk.Stream(tokens) | share()
    results: dict[str, list[int]] = {}

    def reader(name: str) -> None:
        with iterate_sync(shared) as items:
            results[name] = list(items)

    # The gate starts the run and holds it open without holding it back.
    with iterate_sync(shared.consumer(overflow="drop_newest")) as gate:
        assert next(gate) == 0
        threads = [threading.Thread(target=reader, args=(name,)) for name in ("a", "b")]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(CLEANUP_BOUND)
    assert results["a"] == results["b"] == list(range(1, 200))
    assert runs == 1


# -- run_sync ------------------------------------------------------------------------------


def test_run_sync_runs_a_coroutine_and_returns_its_value() -> None:
    assert run_sync((sk.iterate(range(5)) | sk.map(lambda n: n * n)).list()) == [0, 1, 4, 9, 16]


def test_run_sync_takes_an_async_function_and_its_arguments() -> None:
    async def add(a: int, b: int) -> int:
        await anyio.sleep(0)
        return a + b

    assert run_sync(add, 2, 3) == 5


def test_run_sync_keeps_the_error_type() -> None:
    async def fail() -> None:
        raise SourceBroke("nope")

    with pytest.raises(SourceBroke, match="nope"):
        run_sync(fail())


def test_run_sync_refuses_what_is_not_awaitable() -> None:
    with pytest.raises(TypeError, match="run_sync\\(\\) takes an awaitable or an async function, got 42"):
        run_sync(42)  # type: ignore[call-overload]
    with pytest.raises(TypeError, match="returned int 7|returned 7"):
        run_sync(lambda: 7)  # type: ignore[arg-type, return-value]
    with pytest.raises(TypeError, match="takes no further arguments"):
        run_sync(anyio.sleep(0), 1)  # type: ignore[call-overload]


def test_run_sync_on_the_loop_thread_raises_instead_of_deadlocking() -> None:
    async def nested() -> object:
        return run_sync(anyio.sleep(0))  # the inner coroutine is closed, never left unawaited

    with pytest.raises(RuntimeError, match="would deadlock"):
        run_sync(nested)


async def test_run_sync_works_from_a_thread_whose_own_loop_is_running() -> None:
    # As in a notebook cell: blocking, but not refused (asyncio.run would be).
    assert run_sync(sk.iterate("ab").list()) == ["a", "b"]


@pytest.mark.skipif(sys.platform == "win32", reason="needs POSIX signals")
def test_interrupting_run_sync_cancels_the_run_and_waits_for_its_cleanup() -> None:
    source = Source(gap=3600.0)
    main = threading.main_thread().ident
    assert threading.current_thread() is threading.main_thread()
    assert main is not None
    def interrupt() -> None:
        source.started.wait(CLEANUP_BOUND)
        time.sleep(0.05)  # run_sync is waiting for the run by then
        signal.pthread_kill(main, signal.SIGINT)

    timer = threading.Thread(target=interrupt)
    timer.start()
    try:
        with pytest.raises(KeyboardInterrupt):
            run_sync(source.stream().list())
    finally:
        timer.join()
    assert source.closed.is_set()  # the cleanup ran before the interruption reached us


async def test_joining_a_shared_run_from_another_loop_is_refused(anyio_backend: str) -> None:
    source = Source(gap=0.01)
    shared = source.stream() | share()
    async with shared.open() as items:
        assert await anext(items) == 0
        with pytest.raises(RuntimeError, match="being read in another event loop"):
            await anyio.to_thread.run_sync(lambda: next(iterate_sync(shared)))
    assert source.closed.is_set()


def test_the_loop_thread_shuts_down_cleanly_at_interpreter_exit() -> None:
    script = textwrap.dedent(
        """
        import anyio
        import streamkit as sk
        from streamkit._core.blocking import iterate_sync

        async def forever():
            try:
                n = 0
                while True:
                    await anyio.sleep(0.01)
                    yield n
                    n += 1
            finally:
                print("source closed", flush=True)

        items = iterate_sync(sk.Stream(forever))
        print("got", next(items), flush=True)
        # exits without close(): the loop thread's shutdown cancels the run
        """
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=30)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == ["got 0", "source closed"]
    assert done.stderr == ""


# -- as a WSGI response body ----------------------------------------------------------------


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def wsgi_server() -> Iterator[tuple[WSGIServer, dict[str, threading.Event]]]:
    state = {"closed": threading.Event(), "started": threading.Event()}

    async def ticks() -> AsyncIterator[bytes]:
        state["started"].set()
        try:
            n = 0
            while True:
                yield f"data: {n}\n\n".encode()
                n += 1
                await anyio.sleep(0.02)
        finally:
            state["closed"].set()

    def app(environ: dict[str, object], start_response: object) -> sk.Stream[bytes] | object:
        start_response("200 OK", [("Content-Type", "text/event-stream"), ("Cache-Control", "no-cache")])  # type: ignore[operator]
        return iterate_sync(sk.Stream(ticks), buffer=2)

    server = make_server("127.0.0.1", 0, app, handler_class=_QuietHandler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        yield server, state
    finally:
        server.shutdown()
        server.server_close()
        thread.join(CLEANUP_BOUND)


def test_as_a_wsgi_body_a_client_going_away_stops_the_upstream(
    wsgi_server: tuple[WSGIServer, dict[str, threading.Event]],
) -> None:
    server, state = wsgi_server
    with socket.create_connection(server.server_address[:2], timeout=CLEANUP_BOUND) as client:
        client.sendall(b"GET /events HTTP/1.1\r\nHost: localhost\r\n\r\n")
        received = b""
        while received.count(b"\n\n") < 3:
            chunk = client.recv(4096)
            assert chunk, "the server closed the connection"
            received += chunk
        client.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
    left = time.perf_counter()
    assert received.startswith(b"HTTP/1.0 200 OK")
    assert b"Content-Type: text/event-stream" in received
    assert b"data: 0\n\ndata: 1\n\n" in received
    assert state["closed"].wait(CLEANUP_BOUND), "the source's finally did not run after the client left"
    print(f"upstream closed {(time.perf_counter() - left) * 1000:.1f} ms after the client left")


@pytest.mark.skipif(not hasattr(__import__("os"), "fork"), reason="needs os.fork")
def test_a_forked_child_gets_its_own_loop_thread() -> None:
    # As under gunicorn --preload: the parent used the loop thread before forking workers.
    script = textwrap.dedent(
        """
        import os
        import streamkit as sk
        from streamkit._core.blocking import run_sync

        print("parent", run_sync(sk.iterate([1, 2]).list()), flush=True)
        pid = os.fork()
        if pid == 0:
            print("child", run_sync(sk.iterate([3, 4]).list()), flush=True)
            os._exit(0)
        os.waitpid(pid, 0)
        print("parent again", run_sync(sk.iterate([5]).list()), flush=True)
        """
    )
    done = subprocess.run(
        [sys.executable, "-W", "ignore::DeprecationWarning", "-c", script], capture_output=True, text=True, timeout=30
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == ["parent [1, 2]", "child [3, 4]", "parent again [5]"]
