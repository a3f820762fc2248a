"""``python -m streamkit cat``: re-framing between lines, SSE, NDJSON and text, from a file
and from stdin, with progress on stderr when asked."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest


def cat(*arguments: str, stdin: bytes = b"") -> subprocess.CompletedProcess[bytes]:
    return subprocess.run([sys.executable, "-m", "streamkit", "cat", *arguments], input=stdin, capture_output=True, timeout=60)


def test_lines_to_sse(tmp_path: Path) -> None:
    source = tmp_path / "in.txt"
    source.write_text("a\nb\n")
    result = cat(str(source), "--to", "sse")
    assert result.returncode == 0, result.stderr
    assert result.stdout == b"data: a\n\ndata: b\n\n"


def test_sse_from_stdin_to_ndjson_and_text() -> None:
    events = b'event: token\ndata: {"t": "Hel"}\n\ndata: lo\n\n'
    assert cat("-", "--from", "sse", "--to", "ndjson", stdin=events).stdout == b'{"t": "Hel"}\n"lo"\n'
    assert cat("-", "--from", "sse", "--to", "text", stdin=events).stdout == b'{"t": "Hel"}lo'


def test_ndjson_to_lines() -> None:
    assert cat("--from", "ndjson", "--to", "lines", stdin=b'{"a": 1}\n[2]\n').stdout == b'{"a": 1}\n[2]\n'


def test_progress_goes_to_stderr(tmp_path: Path) -> None:
    source = tmp_path / "in.txt"
    source.write_text("".join(f"{n}\n" for n in range(1000)))
    result = cat(str(source), "--to", "ndjson", "--progress")
    assert result.stdout.splitlines()[-1] == json.dumps("999").encode()
    assert b"1,000 items written" in result.stderr


@pytest.mark.parametrize("arguments", [["missing.txt"], ["-", "--from", "ndjson"]])
def test_bad_input_is_named(arguments: list[str]) -> None:
    result = cat(*arguments, stdin=b"{not json\n")
    assert result.returncode != 0
    assert b"missing.txt" in result.stderr or b"line 1" in result.stderr
