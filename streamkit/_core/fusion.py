"""Fusing adjacent synchronous stages into one generator.

A chain such as ``map(f) | filter(p) | map(g)`` would cost one async-generator hop per stage and
per item if each stage were its own generator. Instead each synchronous stage contributes a plain
per-item function, and a run composes them once, at start, into a single function applied inside
one generator loop (DESIGN.md, contract 7). Composition happens per run, so stateful stages
(``enumerate``, ``scan``, ``take``) get fresh state every run.
"""

from __future__ import annotations

import enum
from collections.abc import AsyncIterator, Callable, Sequence
from typing import Any, Final

from streamkit._core.closing import aclose_quietly


class _Skip(enum.Enum):
    SKIP = "SKIP"


SKIP: Final = _Skip.SKIP
"""Returned by a per-item function to drop the item."""


class StopRun(Exception):
    """Raised by a per-item function to end the run, emitting ``item`` last unless it is SKIP."""

    __slots__ = ("item",)

    def __init__(self, item: Any = SKIP) -> None:
        self.item = item


class Kind(enum.Enum):
    MAP = "map"
    """The function returns the new item and never drops one."""
    FILTER = "filter"
    """The function returns a truth value: keep the item or drop it."""
    GENERIC = "generic"
    """The function returns the new item or SKIP, and may raise StopRun."""


ItemFunction = Callable[[Any], Any]
StageFactory = Callable[[], ItemFunction]
"""Builds the per-item function for one run."""


class Stage:
    """One fusable synchronous stage: how to build its per-run function and what it returns."""

    __slots__ = ("kind", "make")

    def __init__(self, kind: Kind, make: StageFactory) -> None:
        self.kind = kind
        self.make = make


def compose(stages: Sequence[Stage]) -> ItemFunction:
    """Build, for one run, a single function equivalent to applying ``stages`` in order."""
    *head, last = stages
    function = _finish(last.kind, last.make())
    for stage in reversed(head):
        function = _link(stage.kind, stage.make(), function)
    return function


def _finish(kind: Kind, fn: ItemFunction) -> ItemFunction:
    if kind is Kind.FILTER:

        def keep(item: Any) -> Any:
            return item if fn(item) else SKIP

        return keep
    return fn


def _link(kind: Kind, fn: ItemFunction, rest: ItemFunction) -> ItemFunction:
    # One closure per kind, so the per-item path has no dispatch on the kind.
    if kind is Kind.MAP:

        def mapped(item: Any) -> Any:
            return rest(fn(item))

        return mapped
    if kind is Kind.FILTER:

        def filtered(item: Any) -> Any:
            return rest(item) if fn(item) else SKIP

        return filtered

    def generic(item: Any) -> Any:
        try:
            item = fn(item)
        except StopRun as stop:
            # The last item still goes through the stages after this one.
            if stop.item is SKIP:
                raise
            raise StopRun(rest(stop.item)) from None
        return SKIP if item is SKIP else rest(item)

    return generic


async def run_fused(upstream: AsyncIterator[Any], function: ItemFunction) -> AsyncIterator[Any]:
    """Apply ``function`` to every item of ``upstream``; close ``upstream`` however the run ends."""
    try:
        async for item in upstream:
            try:
                item = function(item)
            except StopRun as stop:
                # Stop before pulling another item: an LLM stream must not be read further.
                if stop.item is not SKIP:
                    yield stop.item
                return
            if item is not SKIP:
                yield item
    finally:
        await aclose_quietly(upstream)
