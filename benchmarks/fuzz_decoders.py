"""Fuzz the decoders (SSE, NDJSON, and the lines() shape: strict UTF-8 then line splitting) for longer.

The same checks as ``tests/reliability/test_hostile_input.py`` (see ``tests/reliability/hostile.py``):
only documented errors, buffers never above the configured limit, well-formed output. With
atheris installed (``pip install atheris``) it is coverage-guided; without it, hypothesis
generates the inputs. Each input picks a decoder and a limit, then cuts the rest of its bytes
into chunks, some of them repeated many times (huge lines, endless runs without a line end).

Run:  python -m benchmarks.fuzz_decoders [--seconds 60] [--kind sse|ndjson|ndjson-skip|lines]
                                          [--engine atheris|hypothesis]

Prints executions, executions per second and how the inputs ended, per decoder. A failure
prints the input (atheris also writes it to ``crash-*``) and exits non-zero.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections import Counter
from typing import Any

KINDS = ("sse", "ndjson", "ndjson-skip", "lines")


class Stats:
    def __init__(self, seconds: float) -> None:
        self.started = time.monotonic()
        self.deadline = self.started + seconds
        self.outcomes: dict[str, Counter[str]] = {kind: Counter() for kind in KINDS}
        self.fed: Counter[str] = Counter()

    def report(self, engine: str) -> None:
        elapsed = time.monotonic() - self.started
        total = sum(sum(c.values()) for c in self.outcomes.values())
        print(f"{engine}: {total} inputs in {elapsed:.1f} s ({total / elapsed:.0f}/s); every invariant held")
        for kind, outcomes in self.outcomes.items():
            if outcomes:
                shown = ", ".join(f"{name} {count}" for name, count in outcomes.most_common())
                print(f"  {kind:12} {sum(outcomes.values()):8} inputs, {self.fed[kind] / 2**20:8.1f} MiB fed: {shown}")
        sys.stdout.flush()


def chunks_from(take_int: Any, take_bytes: Any, take_bool: Any, remaining: Any) -> list[bytes]:
    chunks: list[bytes] = []
    while remaining() > 0 and len(chunks) < 64:
        chunk = take_bytes(take_int(1, 64))
        if take_bool():
            chunk *= take_int(1, 2000)  # a huge line, or an endless run without a line end
        chunks.append(chunk)
    return chunks


def run_atheris(stats: Stats, only: str | None) -> None:
    import atheris  # type: ignore[import-untyped]

    with atheris.instrument_imports(include=["streamkit"]):
        from tests.reliability.hostile import HARNESSES, LIMITS

    def one_input(data: bytes) -> None:
        if time.monotonic() > stats.deadline:
            stats.report("atheris")
            os._exit(0)  # libFuzzer's own exit skips Python's; the figures are printed above
        fdp = atheris.FuzzedDataProvider(data)
        kind = only or KINDS[fdp.ConsumeIntInRange(0, len(KINDS) - 1)]
        limit = LIMITS[fdp.ConsumeIntInRange(0, len(LIMITS) - 1)]
        chunks = chunks_from(fdp.ConsumeIntInRange, fdp.ConsumeBytes, fdp.ConsumeBool, fdp.remaining_bytes)
        stats.fed[kind] += sum(map(len, chunks))
        stats.outcomes[kind][HARNESSES[kind](limit).run(chunks)] += 1

    atheris.Setup([sys.argv[0], "-rss_limit_mb=2048"], one_input)
    atheris.Fuzz()


def run_hypothesis(stats: Stats, only: str | None) -> None:
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    from tests.reliability.hostile import HARNESSES, LIMITS, PIECES

    piece = st.sampled_from(PIECES) | st.binary(max_size=64)
    chunk = st.tuples(piece, st.integers(1, 2000) | st.just(1)).map(lambda pair: pair[0] * pair[1])

    @settings(max_examples=500, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    @given(st.sampled_from([only] if only else KINDS), st.sampled_from(LIMITS), st.lists(chunk, max_size=64))
    def one_input(kind: str, limit: int, chunks: list[bytes]) -> None:
        stats.fed[kind] += sum(map(len, chunks))
        stats.outcomes[kind][HARNESSES[kind](limit).run(chunks)] += 1

    while time.monotonic() < stats.deadline:
        one_input()
    stats.report("hypothesis")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--kind", choices=KINDS, default=None, help="one decoder only (default: all, chosen per input)")
    parser.add_argument("--engine", choices=("atheris", "hypothesis"), default=None)
    options = parser.parse_args()
    engine = options.engine
    if engine is None:
        try:
            import atheris  # noqa: F401

            engine = "atheris"
        except ImportError:
            engine = "hypothesis"
            print("atheris is not installed (pip install atheris): using hypothesis")
    stats = Stats(options.seconds)
    if engine == "atheris":
        run_atheris(stats, options.kind)
    else:
        run_hypothesis(stats, options.kind)


if __name__ == "__main__":
    main()
