"""Load the recipes of ``docs/recipes.md`` as the tests run them, and a stand-in for their source.

Each recipe is a fenced ``python`` block after a ``<!-- recipe: NAME -->`` marker. The
``events`` block (the stream every recipe serves) runs first, in a fresh module; then the test
swaps in :class:`Rooms` for its ``ticks`` source, so that it can see every stream's requests
and cleanup; then the framework's block runs, exactly as a reader would paste it.
"""

from __future__ import annotations

import contextlib
import re
import sys
import threading
from collections.abc import AsyncIterator, Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any, Protocol

import anyio

import streamkit as sk
from tests import httpclient as http

RECIPES = Path(__file__).resolve().parents[2] / "docs" / "recipes.md"

_BLOCK = re.compile(r"<!-- recipe: (?P<name>[\w-]+) -->\n```python\n(?P<code>.*?)^```", re.DOTALL | re.MULTILINE)


def recipe_blocks() -> dict[str, str]:
    text = RECIPES.read_text(encoding="utf-8")
    blocks = {match["name"]: match["code"] for match in _BLOCK.finditer(text)}
    if "events" not in blocks:
        raise AssertionError(f"{RECIPES} has no '<!-- recipe: events -->' block")
    return blocks


@contextlib.contextmanager
def load_recipe(name: str, wrap: Mapping[str, Callable[[Any], Any]] | None = None, **replace: Any) -> Iterator[ModuleType]:
    """Run the ``events`` block, then ``replace`` names in it and ``wrap`` others (``wrap[name]``
    gets the original), then recipe ``name``; yield the module."""
    blocks = recipe_blocks()
    module = ModuleType(f"streamkit_recipe_{name.replace('-', '_')}")
    module.__file__ = str(RECIPES)
    # Registered while in use: frameworks resolve annotations through the module.
    sys.modules[module.__name__] = module
    try:
        exec(compile(blocks["events"], f"{RECIPES} (events)", "exec"), module.__dict__)
        module.__dict__.update(replace)
        for wrapped, wrapper in (wrap or {}).items():
            module.__dict__[wrapped] = wrapper(module.__dict__[wrapped])
        exec(compile(blocks[name], f"{RECIPES} ({name})", "exec"), module.__dict__)
        yield module
    finally:
        del sys.modules[module.__name__]


class Paths:
    """Wraps the recipes' ``events`` factory to record the path each request showed it."""

    def __init__(self) -> None:
        self.seen: list[str] = []

    def __call__(self, events: Callable[[sk.Request], sk.Stream[bytes]]) -> Callable[[sk.Request], sk.Stream[bytes]]:
        def recording(request: sk.Request) -> sk.Stream[bytes]:
            self.seen.append(request.path)
            return events(request)

        return recording


class Rooms:
    """Stands in for the recipes' ``ticks(room, after)``: records each call, and each stream
    reports across threads (the server runs in its own) that its ``finally`` ran.

    Every stream yields ``count`` events numbered from ``after + 1``, then ``then``:
    ``"end"``, ``"idle"`` (waits an hour for the next one) or ``"busy"`` (one more every 10 ms).
    """

    def __init__(self, count: int = 3, then: str = "end") -> None:
        if then not in ("end", "idle", "busy"):
            raise ValueError(then)
        self.count = count
        self.then = then
        self.calls: list[tuple[str, int]] = []
        self.closed: list[threading.Event] = []
        self.framing: sk.Framing | None = None
        """The recipes' own framing, set by :meth:`use_framing_of`."""

    def use_framing_of(self, recipe: ModuleType) -> Rooms:
        self.framing = recipe.SSE
        return self

    def __call__(self, room: str, after: int = 0) -> sk.Stream[bytes]:
        self.calls.append((room, after))
        closed = threading.Event()
        self.closed.append(closed)

        async def run() -> AsyncIterator[bytes]:
            n = after
            try:
                for _ in range(self.count):
                    n += 1
                    yield f"id: {n}\ndata: {room} {n}\n\n".encode()
                if self.then == "idle":
                    await anyio.sleep(3600)
                while self.then == "busy":
                    await anyio.sleep(0.01)
                    n += 1
                    yield f"id: {n}\ndata: {room} {n}\n\n".encode()
            finally:
                closed.set()

        return sk.Stream(run, framing=self.framing)

    def all_closed(self) -> bool:
        return bool(self.closed) and all(event.is_set() for event in self.closed)


def expected_body(room: str, after: int, count: int) -> bytes:
    return b"".join(f"id: {n}\ndata: {room} {n}\n\n".encode() for n in range(after + 1, after + count + 1))


async def get(url: str, headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
    async with http.stream("GET", url, headers=headers) as response:
        return response.status, response.headers, await response.read_all()


class RecipeCase(Protocol):
    room: str
    way: str
    factory_path: str


@dataclass
class Resumed:
    """A recipe's stream fetched with ``Last-Event-ID: 4``, and its framework's home page."""

    status: int
    headers: dict[str, str]
    body: bytes
    home_status: int
    home: bytes

    @classmethod
    async def fetch(cls, url: str, path: str) -> Resumed:
        status, headers, body = await get(url + path, {"Last-Event-ID": "4"})
        home_status, _, home = await get(url + "/")
        return cls(status, headers, body, home_status, home)

    def check(self, case: RecipeCase, rooms: Rooms, paths: Paths, home: bytes) -> None:
        """Protocol headers, the events after id 4, the source closed, the home page still served."""
        assert self.status == 200
        assert self.headers["content-type"] == "text/event-stream; charset=utf-8"
        assert self.headers["cache-control"] == "no-cache"
        assert self.headers["x-accel-buffering"] == "no"
        assert "content-encoding" not in self.headers and "content-length" not in self.headers
        assert self.body == expected_body(case.room, after=4, count=3)
        assert rooms.calls == [(case.room, 4)], "the source did not get the room and Last-Event-ID"
        assert rooms.all_closed()
        # What docs/recipes.md says a mounted factory sees as request.path.
        assert paths.seen == ([case.factory_path] if case.way == "mount" else [])
        assert (self.home_status, self.home) == (200, home), "the framework's own route no longer answers"
