"""streamkit.testing's ``anyio_backend`` fixture, imported as a user's conftest.py would."""

from __future__ import annotations

import time
from typing import Any

import anyio
import pytest
import sniffio

import streamkit as sk
from streamkit.testing import anyio_backend, record  # noqa: F401  (the import defines the fixture here)


async def test_runs_on_each_backend_with_a_virtual_clock(
    anyio_backend: tuple[str, dict[str, Any]], request: pytest.FixtureRequest
) -> None:
    name, options = anyio_backend
    assert request.node.callspec.id == name  # test ids: [asyncio], [trio]
    assert sniffio.current_async_library() == name
    assert ("loop_factory" in options) if name == "asyncio" else ("clock" in options)
    started = time.perf_counter()
    assert await record(sk.interval(600.0) | sk.take(2)) == [(600.0, 0), (1200.0, 1)]
    await anyio.sleep(86_400)
    assert time.perf_counter() - started < 5.0  # a virtual day


def test_the_fixture_has_both_backends() -> None:
    from streamkit import testing

    assert testing.anyio_backend is anyio_backend  # built once
    assert [factory()[0] for factory in testing.virtual_backends()] == ["asyncio", "trio"]
