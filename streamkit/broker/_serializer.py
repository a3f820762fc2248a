"""How items become bytes on a broker that stores them outside the process (Redis)."""

from __future__ import annotations

import json
from typing import Any, Protocol, runtime_checkable


@runtime_checkable
class Serializer(Protocol):
    """Turns items into bytes and back. The ``json`` and ``pickle`` modules both fit.

    >>> RedisBroker(serializer=pickle)          # doctest: +SKIP
    """

    def dumps(self, item: Any) -> bytes | str: ...

    def loads(self, data: bytes) -> Any: ...


class JSONSerializer:
    """Compact UTF-8 JSON, the default: what a browser on the other end of an SSE stream reads.

    >>> JSONSerializer().dumps({"text": "héllo"})
    b'{"text":"h\\xc3\\xa9llo"}'
    """

    __slots__ = ("_encoder",)

    def __init__(self) -> None:
        self._encoder = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))

    def dumps(self, item: Any) -> bytes:
        return self._encoder.encode(item).encode()

    def loads(self, data: bytes) -> Any:
        return json.loads(data)
