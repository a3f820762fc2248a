"""Reading fields from SDK objects and from plain parsed JSON alike.

Translators read provider chunks through :func:`field`, so the same code handles the SDKs'
pydantic models (attributes) and JSON decoded from the wire (dicts): a recorded stream or an
OpenAI-compatible server can be replayed without the SDK.
"""

from __future__ import annotations

from typing import Any


def field(obj: Any, name: str) -> Any:
    """``obj[name]`` for a dict, ``obj.name`` otherwise; None when absent."""
    if isinstance(obj, dict):
        return obj.get(name)
    return getattr(obj, name, None)


def count(obj: Any, name: str) -> int:
    """A token count: the field as an int, 0 when absent or not a number."""
    value = field(obj, name) if obj is not None else None
    return value if isinstance(value, int) and not isinstance(value, bool) else 0
