"""Run every benchmark and print one table of the ratios they report.

    python -m benchmarks            # full sizes (minutes)
    python -m benchmarks --quick    # small sizes (well under a minute or two), same comparisons

Each benchmark file runs in its own process (they measure CPU time and start servers), with
its own output shown as it finishes; the summary table at the end collects every line in
which a benchmark states a ratio (``1.23x`` or ``1.23×``) against its peer. Nothing here is asserted: the
figures depend on the machine, and the ratios are the part worth comparing.
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# (file, arguments for --quick, arguments for a full run)
BENCHMARKS: list[tuple[str, list[str], list[str]]] = [
    ("operators", ["200000"], []),
    ("framing", ["--events", "100000", "--megabytes", "5", "--rounds", "2"], []),
    ("sharing", ["50000"], []),
    ("serve", ["20000", "2"], []),
    ("connections", ["200"], ["1000", "5000"]),
    ("broker", [], []),
]

RATIO = re.compile(r"\d+(?:\.\d+)?\s?[x×](?!\w)")


def machine() -> str:
    cores = os.cpu_count() or 0
    try:
        memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
        memory_text = f", {memory:.0f} GiB"
    except (ValueError, OSError, AttributeError):
        memory_text = ""
    return f"{platform.system()} {platform.machine()}, {cores} cores{memory_text}, Python {platform.python_version()}"


def run(name: str, arguments: list[str]) -> tuple[int, str]:
    result = subprocess.run(
        [sys.executable, "-m", f"benchmarks.{name}", *arguments], cwd=ROOT, capture_output=True, text=True, timeout=3600
    )
    return result.returncode, result.stdout + (f"\n[stderr]\n{result.stderr[-2000:]}" if result.returncode else "")


def main() -> int:
    parser = argparse.ArgumentParser(description="Run streamkit's benchmarks and summarise the ratios.")
    parser.add_argument("--quick", action="store_true", help="small sizes: a smoke run of every comparison")
    parser.add_argument("only", nargs="*", help="benchmark names to run (default: all)")
    options = parser.parse_args()
    print(f"streamkit benchmarks, {datetime.date.today().isoformat()}, {machine()}{' (--quick)' if options.quick else ''}\n")
    rows: list[tuple[str, str]] = []
    failures = 0
    for name, quick, full in BENCHMARKS:
        if options.only and name not in options.only:
            continue
        print(f"== {name}", flush=True)
        status, output = run(name, quick if options.quick else full)
        print(output.rstrip() + "\n", flush=True)
        if status != 0:
            failures += 1
            rows.append((name, f"failed (exit {status})"))
            continue
        rows += [(name, " ".join(line.split())) for line in output.splitlines() if RATIO.search(line)]
    print("== summary: every ratio reported\n")
    print("| benchmark | result |")
    print("|---|---|")
    for name, line in rows:
        print(f"| {name} | {line.replace('|', '/')} |")
    return 1 if failures else 0


if __name__ == "__main__":
    raise SystemExit(main())
