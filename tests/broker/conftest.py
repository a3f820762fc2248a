"""Broker tests: each shared test runs on the memory and the Redis backend, on asyncio and trio.

Memory runs on the virtual clock (exact and instant); Redis is real I/O, so it runs on the
real clock. Redis is the one at 127.0.0.1:6379 (``STREAMKIT_REDIS_URL`` to change it): its
tests skip, with the reason, when it is not there, unless ``STREAMKIT_REQUIRE_REDIS=1`` (CI)
turns that into a failure. Each test gets a unique key prefix, and its keys are deleted
afterwards.
"""

from __future__ import annotations

import functools
import os
import shutil
import socket
import subprocess
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import anyio
import pytest

from streamkit.broker import Broker, MemoryBroker, RedisBroker
from streamkit.testing import virtual_backends

REDIS_URL = os.environ.get("STREAMKIT_REDIS_URL", "redis://127.0.0.1:6379/0")


@functools.cache
def _redis_problem(url: str = REDIS_URL) -> str | None:
    try:
        import redis
    except ImportError:
        return "the redis package is not installed (pip install 'streamkit[redis]')"
    client = redis.Redis.from_url(url, socket_connect_timeout=1, socket_timeout=1)
    try:
        client.ping()
    except redis.exceptions.RedisError as error:
        return f"no Redis at {url} ({error})"
    finally:
        client.close()
    return None


def require_redis() -> None:
    """Skip (or fail under STREAMKIT_REQUIRE_REDIS=1) when Redis cannot be reached."""
    problem = _redis_problem()
    if problem is None:
        return
    if os.environ.get("STREAMKIT_REQUIRE_REDIS") == "1":
        pytest.fail(f"STREAMKIT_REQUIRE_REDIS=1 but {problem}")
    pytest.skip(problem)


@pytest.fixture(params=["memory", "redis"])
def broker_kind(request: pytest.FixtureRequest) -> str:
    """Which backend the test runs on; a module overrides it to test one backend."""
    return str(request.param)


@pytest.fixture(params=["asyncio", "trio"])
def anyio_backend(request: pytest.FixtureRequest, broker_kind: str) -> Any:
    """Virtual time for the memory backend; the real clock wherever Redis is involved."""
    if broker_kind == "memory":
        for factory in virtual_backends():
            name, options = factory()
            if name == request.param:
                return name, options
        pytest.skip(f"{request.param} is not installed")
    return request.param


@pytest.fixture
def redis_prefix(broker_kind: str) -> Iterator[str]:
    """A key prefix of this test's own; every key under it is deleted afterwards."""
    if broker_kind != "redis":
        yield ""
        return
    require_redis()
    prefix = f"streamkit-test:{uuid.uuid4().hex}:"
    yield prefix
    delete_keys(prefix)


def delete_keys(prefix: str) -> None:
    """Delete every Redis key a test made under ``prefix``."""
    import redis

    client = redis.Redis.from_url(REDIS_URL)
    try:
        keys = list(client.scan_iter(match=prefix + "*", count=1000))
        if keys:
            client.delete(*keys)
    finally:
        client.close()


# Short intervals keep real-clock Redis tests quick; exact trimming makes retention
# deterministic (the default ``MAXLEN ~`` is tested on its own).
TEST_OPTIONS: dict[str, dict[str, Any]] = {
    "memory": {"presence_interval": 0.1},
    "redis": {"presence_interval": 0.1, "approximate": False, "block": 0.2, "reconnect_timeout": 5.0},
}


@pytest.fixture
async def make_broker(broker_kind: str, redis_prefix: str) -> AsyncIterator[Callable[..., Broker]]:
    """``make_broker(**options)``: a broker of this test's backend, closed after the test."""
    made: list[Broker] = []

    def make(**options: Any) -> Broker:
        settings = {**TEST_OPTIONS[broker_kind], **options}
        broker: Broker
        if broker_kind == "memory":
            broker = MemoryBroker(**settings)
        else:
            broker = RedisBroker(settings.pop("url", REDIS_URL), prefix=redis_prefix, **settings)
        made.append(broker)
        return broker

    yield make
    for broker in made:
        await broker.aclose()


@pytest.fixture
def broker(make_broker: Callable[..., Broker]) -> Broker:
    return make_broker()


async def wait_until(predicate: Callable[[], Any], *, timeout: float = 5.0) -> None:
    """Poll an async ``predicate`` until it is true; fail after ``timeout`` seconds."""
    with anyio.fail_after(timeout):
        while not await predicate():
            await anyio.sleep(0.01)


async def wait_for_subscribers(broker: Broker, topic: str, count: int) -> None:
    async def enough() -> bool:
        return await broker.subscriber_count(topic) >= count

    await wait_until(enough)


# -- a private redis-server, for tests that stop or restart it ------------------------------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class PrivateRedis:
    """A ``redis-server`` of the test's own on a free port: never the shared one on 6379."""

    def __init__(self, directory: str, *, persistent: bool) -> None:
        self.port = _free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self._directory = directory
        self._persistent = persistent
        self._process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        persistence = ["--appendonly", "yes", "--appendfsync", "always"] if self._persistent else ["--appendonly", "no"]
        self._process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", *persistence, "--dir", self._directory],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while True:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as sock:
                    sock.sendall(b"PING\r\n")
                    if sock.recv(64).startswith(b"+PONG"):
                        return
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"redis-server on port {self.port} did not start")
            time.sleep(0.02)

    def stop(self) -> None:
        if self._process is not None:
            self._process.terminate()  # SIGTERM: a persistent server syncs its AOF first
            self._process.wait(timeout=10)
            self._process = None

    def restart(self) -> None:
        self.stop()
        self.start()


@pytest.fixture
def private_redis_factory() -> Iterator[Callable[..., PrivateRedis]]:
    if shutil.which("redis-server") is None:
        if os.environ.get("STREAMKIT_REQUIRE_REDIS") == "1":
            pytest.fail("STREAMKIT_REQUIRE_REDIS=1 but redis-server is not installed")
        pytest.skip("redis-server is not installed")
    servers: list[PrivateRedis] = []
    with tempfile.TemporaryDirectory(prefix="streamkit-redis-") as directory:

        def make(*, persistent: bool = False) -> PrivateRedis:
            server = PrivateRedis(tempfile.mkdtemp(dir=directory), persistent=persistent)
            server.start()
            servers.append(server)
            return server

        try:
            yield make
        finally:
            for server in servers:
                server.stop()
