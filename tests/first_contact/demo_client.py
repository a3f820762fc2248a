"""Start ``python -m streamkit demo`` as a process and read each pipeline over real sockets."""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
from collections.abc import Iterator, Sequence

import httpx

PIPELINES = {"/llm": b"event: token", "/sensor": b"event: batch", "/heartbeat": b"event: ping", "/log": b'"seq": 1'}
"""Each endpoint, and bytes its first events must contain."""


class Demo:
    returncode: int | None = None
    output: bytes = b""


@contextlib.contextmanager
def running_demo(command: Sequence[str] | str, env: dict[str, str] | None = None) -> Iterator[tuple[str, Demo]]:
    """Run the demo on a free port (``STREAMKIT_DEMO_PORT=0``); yield its URL and a record
    that, after the block, holds the exit status and the rest of its output. On exit send
    SIGINT (Ctrl+C) and wait for it to stop."""
    environment = dict(env if env is not None else os.environ)
    environment["STREAMKIT_DEMO_PORT"] = "0"
    environment["PYTHONUNBUFFERED"] = "1"
    process = subprocess.Popen(
        # bash, as in a terminal: it lets a command that handled Ctrl+C finish the line
        # (dash, Debian's /bin/sh, dies with it).
        command, shell=isinstance(command, str), executable="/bin/bash" if isinstance(command, str) else None, env=environment, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    rest = b""
    demo = Demo()
    match = None
    try:
        assert process.stdout is not None
        # Lines before the URL (pip's, when the command installs first) are skipped.
        seen: list[str] = []
        while (line := process.stdout.readline().decode(errors="replace")):
            seen.append(line)
            if match := re.search(r"http://127\.0\.0\.1:\d+/", line):
                break
        assert match, "the demo did not print its URL:\n" + "".join(seen[-30:])
        yield match.group(0), demo
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGINT) if isinstance(command, str) else process.send_signal(signal.SIGINT)
            try:
                process.wait(20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
                raise AssertionError("the demo did not stop within 20 s of Ctrl+C") from None
        if process.stdout is not None:
            rest = process.stdout.read()
            process.stdout.close()
    demo.returncode, demo.output = process.returncode, rest


def first_bytes(url: str, path: str, expected: bytes, timeout: float = 10.0) -> bytes:
    """Read ``path`` until ``expected`` arrives (or fail after ``timeout`` s); return what came."""
    received = b""
    with httpx.Client(timeout=httpx.Timeout(timeout)) as client, client.stream("GET", url.rstrip("/") + path) as response:
        assert response.status_code == 200, (path, response.status_code)
        for chunk in response.iter_raw():
            received += chunk
            if expected in received:
                return received
    raise AssertionError(f"{path} ended before sending {expected!r}: {received!r}")
