"""A minimal HTTP/1.1 streaming client on anyio sockets, for tests that stop reading midway.

httpx's internal async generators are left to the garbage collector when a trio client stops
reading a response early (a ResourceWarning); this client owns nothing but its socket, which
closes deterministically when the ``async with`` block ends.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from contextlib import aclosing, asynccontextmanager
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import anyio
from anyio.abc import SocketStream


@dataclass
class StreamedResponse:
    status: int
    headers: dict[str, str]
    _socket: SocketStream
    _buffer: bytes = b""
    _chunked: bool = False
    _left: int = 0
    body: bytearray = field(default_factory=bytearray)

    async def _fill(self) -> bool:
        try:
            data = await self._socket.receive()
        except (anyio.EndOfStream, anyio.BrokenResourceError):
            return False
        self._buffer += data
        return True

    async def _line(self) -> bytes | None:
        while b"\r\n" not in self._buffer:
            if not await self._fill():
                return None
        line, _, self._buffer = self._buffer.partition(b"\r\n")
        return line

    async def chunks(self) -> AsyncIterator[bytes]:
        """The body as it arrives (chunked framing removed)."""
        if not self._chunked:
            while True:
                if self._buffer:
                    data, self._buffer = self._buffer, b""
                    yield data
                elif not await self._fill():
                    return
        # The position inside a chunk lives on the response, so reading can stop and resume.
        while True:
            if self._left == 0:
                size_line = await self._line()
                if size_line is None:
                    return
                self._left = int(size_line.split(b";")[0], 16)
                if self._left == 0:
                    return
            while self._left:
                if not self._buffer and not await self._fill():
                    return
                data = self._buffer[: self._left]
                self._buffer = self._buffer[len(data) :]
                self._left -= len(data)
                if self._left == 0 and await self._line() is None:  # the CRLF that ends the chunk
                    return
                yield data

    async def read_until(self, marker: bytes, count: int = 1) -> bytes:
        """Read until ``marker`` has been seen ``count`` times in the body; return the body so far."""
        async with aclosing(self.chunks()) as chunks:
            async for data in chunks:
                self.body += data
                if self.body.count(marker) >= count:
                    break
        return bytes(self.body)

    async def read_all(self) -> bytes:
        async for data in self.chunks():
            self.body += data
        return bytes(self.body)


@asynccontextmanager
async def stream(
    method: str, url: str, *, headers: Mapping[str, str] | None = None, body: bytes = b""
) -> AsyncIterator[StreamedResponse]:
    """Send one request; yield the response once its headers are in; close the socket after."""
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    lines = [f"{method} {target} HTTP/1.1", f"Host: {host}:{port}", "Connection: close"]
    lines += [f"{name}: {value}" for name, value in (headers or {}).items()]
    if body:
        lines.append(f"Content-Length: {len(body)}")
    async with await anyio.connect_tcp(host, port) as sock:
        await sock.send(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body)
        buffer = b""
        while b"\r\n\r\n" not in buffer:
            buffer += await sock.receive()
        head, _, rest = buffer.partition(b"\r\n\r\n")
        status_line, *header_lines = head.decode("latin-1").split("\r\n")
        response_headers = {}
        for line in header_lines:
            name, _, value = line.partition(":")
            response_headers[name.strip().lower()] = value.strip()
        response = StreamedResponse(int(status_line.split()[1]), response_headers, sock, rest)
        response._chunked = response_headers.get("transfer-encoding", "").lower() == "chunked"
        yield response
