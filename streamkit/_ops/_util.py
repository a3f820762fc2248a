"""Small helpers shared by the operator modules."""

from __future__ import annotations

import inspect
from typing import Any


def is_async_callable(function: Any) -> bool:
    """True for ``async def`` functions, partials of them and objects with an ``async def __call__``."""
    return inspect.iscoroutinefunction(function) or inspect.iscoroutinefunction(getattr(function, "__call__", None))
