"""The tiny notebook that exercises ``show`` and timelines in a kernel (run with the others, at once)."""

from __future__ import annotations

SETUP = """
import sys
import anyio
import streamkit as sk
from streamkit.notebook import marbles, run_virtual, show
"""

CELLS = {
    "text": 'await show(sk.iterate(["Hel", "lo", " wor", "ld"]), mode="text")',
    "latest": "await show(sk.iterate(range(1000)))",
    "log": 'await show(sk.iterate(range(50)) | sk.map(lambda i: f"line {i}"), mode="log", max_lines=3)',
    "no-status": 'await show(sk.iterate(["a", "b"]), mode="log", status=False)',
    "error": ('await show(sk.iterate([1, 2]) | sk.map(lambda x: 1 / (x - 2)), mode="log")', ["raises-exception"]),
    "terminal": 'await show(sk.iterate(["x", "y"]), mode="log", file=sys.stdout)',
    "timeline": 'marbles({"ticks": sk.interval(1) | sk.take(3), "throttle(2)": sk.interval(1) | sk.take(3) | sk.throttle(2)})',
}
