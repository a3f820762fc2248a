"""Suite-wide checks: no leaked pumps, no unretrieved task exceptions, virtual time by default."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from streamkit._core.tasks import live_pumps
from streamkit.testing import virtual_backends


@pytest.fixture(params=virtual_backends(), ids=lambda factory: factory()[0])
def anyio_backend(request: pytest.FixtureRequest) -> tuple[str, dict[str, Any]]:
    """Every async test runs on asyncio and on trio, on a virtual clock unless a module overrides this."""
    factory: Callable[[], tuple[str, dict[str, Any]]] = request.param
    return factory()


class _Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.fixture(autouse=True)
def _no_leaks() -> Iterator[None]:
    """Fail a test that leaves a background pump running or makes asyncio log an error
    ("Task exception was never retrieved", "Task was destroyed but it is pending")."""
    handler = _Collect()
    asyncio_logger = logging.getLogger("asyncio")
    asyncio_logger.addHandler(handler)
    before = live_pumps()
    try:
        yield
    finally:
        asyncio_logger.removeHandler(handler)
    assert live_pumps() == before, f"{live_pumps() - before} background pump(s) still running after the test"
    assert not handler.records, "asyncio logged: " + "; ".join(r.getMessage() for r in handler.records)

