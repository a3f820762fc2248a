"""Build docs/reference/*.md from the public names' docstrings.

    python docs/build.py            # rewrite the pages
    python docs/build.py --check    # exit 1 if a committed page is out of date (a test runs this)

Pages group the names by the private package that defines them (sources and the stream,
operators, framing, sinks) and by public subpackage (llm, broker, notebook, testing).
"""

from __future__ import annotations

import importlib
import inspect
import re
import sys
from pathlib import Path
from typing import Any

REFERENCE = Path(__file__).resolve().parent / "reference"

TIMING = """\
## Timing semantics of the time operators

All times are seconds (floats) on anyio's clock, so a virtual clock drives them in tests.
"Drops" means items are discarded on purpose; every other operator keeps every item.

| Operator | Emits | Drops | Background task | At the end of the source |
|---|---|---|---|---|
| `throttle(t)` | the first item of each `t`-second window at once (`leading`); with `trailing=True` also the window's latest item when it closes | yes: the rest of each window | only with `trailing=True` | a pending trailing item at once |
| `debounce(t)` | an item once `t` seconds pass with no newer one | yes: superseded items | yes | the waiting item at once |
| `sample(t)` | every `t` s (counted from the run's start), the latest item since the last tick | yes: all but the latest per tick | yes | an unsampled item, then the end |
| `batch(n, max_wait=t)` | a list when it holds `n` items or `t` s after its first item | no | with `max_wait` | the partial batch (also before an error) |
| `timeout(t, total=T)` | items unchanged; raises `TimeoutError` after `t` s without one, or `T` s in all | no | yes | unchanged |
| `spaceout(t)` | items at least `t` s apart, delayed, never read ahead | no | no | unchanged |
| `delay(t)` | every item (and the end, and errors) `t` s later, gaps kept | no (backpressure past `max_buffer`) | yes | the end, `t` s later |
| `heartbeat(t, value)` | `value` after every `t` s without an item (counted from the last item or heartbeat) | no | yes | unchanged |
| `take_until(trigger)` | items until the trigger (event, stream, awaitable, or seconds from the run's start) fires | the rest | yes | unchanged |
| `interval(t)` (source) | 0, 1, 2, ... every `t` s from the run's start, without drift | ticks a slow consumer missed | no | never ends |
| `timer(t, value)` (source) | `value` once, `t` s after the run starts | no | no | ends after it |
"""

PAGES: dict[str, tuple[str, str]] = {
    "streams": ("The stream and its sources", "Stream, pipes, runs, sources, sharing and errors: `import streamkit as sk`."),
    "operators": ("Operators", "Steps for `stream | step`: transform, select, time and combine."),
    "framing": ("Framing", "Server-Sent Events, NDJSON and text: incremental decoders and the steps that wrap them."),
    "sinks": ("Sinks", "Where framed streams go: ASGI, WSGI, files, stdout, your own `Sink`, and serving."),
    "llm": ("streamkit.llm", "LLM SDK streams as one event vocabulary."),
    "broker": ("streamkit.broker", "Topics, fan-out and resume: MemoryBroker and RedisBroker."),
    "notebook": ("streamkit.notebook", "Live display and marble timelines in Jupyter."),
    "testing": ("streamkit.testing", "Helpers for your own tests: virtual time, recording, cleanup checks."),
}


def page_of(module: str, owner: str) -> str:
    if module != "streamkit":
        return module.removeprefix("streamkit.")
    for package, page in (("streamkit._ops", "operators"), ("streamkit._framing", "framing"), ("streamkit._sinks", "sinks")):
        if owner.startswith(package):
            return page
    return "streams"


def signature(name: str, obj: Any) -> str:
    try:
        # Default values such as json.dumps print with their address: drop it, pages must be stable.
        return re.sub(r" at 0x[0-9a-f]+", "", f"{name}{inspect.signature(obj)}")
    except (TypeError, ValueError):
        return name


def fence_examples(doc: str) -> str:
    """Put each run of ``>>>`` lines (up to a blank line) in a Python code block."""
    out: list[str] = []
    in_example = False
    for line in doc.splitlines():
        if line.startswith(">>>") and not in_example:
            out.append("```python")
            in_example = True
        elif in_example and not line.strip():
            out.append("```")
            in_example = False
        out.append(line)
    if in_example:
        out.append("```")
    return "\n".join(out)


def entry(module: str, name: str, obj: Any) -> str:
    kind = "class" if inspect.isclass(obj) else "function" if callable(obj) else "value"
    doc = inspect.getdoc(obj) if kind != "value" else None
    lines = [f"### `{name}`", ""]
    if kind == "class":
        lines += ["```python", f"class {signature(name, obj)}", "```", ""]
    elif kind == "function" and (inspect.isfunction(obj) or inspect.isbuiltin(obj)):
        lines += ["```python", signature(name, obj), "```", ""]
    else:
        lines += [f"`{module}.{name}` = `{obj!r}`" if kind == "value" else f"`{module}.{name}`", ""]
    if doc:
        lines += [fence_examples(doc), ""]
    return "\n".join(lines)


def build() -> dict[str, str]:
    entries: dict[str, list[str]] = {page: [] for page in PAGES}
    for module_name in ("streamkit", "streamkit.llm", "streamkit.broker", "streamkit.notebook", "streamkit.testing"):
        module = importlib.import_module(module_name)
        for name in module.__all__:
            if name.startswith("__"):
                continue
            obj = getattr(module, name)
            owner = getattr(obj, "__module__", module_name) or module_name
            entries[page_of(module_name, owner)].append(entry(module_name, name, obj))
    pages = {}
    for page, (title, intro) in PAGES.items():
        parts = [f"# {title}", "", "<!-- generated by docs/build.py from the docstrings: edit those, then run it -->", "", intro, ""]
        if page == "operators":
            parts += [TIMING]
        parts += entries[page]
        pages[page] = "\n".join(parts).rstrip() + "\n"
    return pages


def main(argv: list[str]) -> int:
    pages = build()
    stale = [name for name, text in pages.items() if not (REFERENCE / f"{name}.md").exists() or (REFERENCE / f"{name}.md").read_text() != text]
    if "--check" in argv:
        for name in stale:
            print(f"docs/reference/{name}.md is out of date: run python docs/build.py", file=sys.stderr)
        return 1 if stale else 0
    REFERENCE.mkdir(exist_ok=True)
    for name, text in pages.items():
        (REFERENCE / f"{name}.md").write_text(text)
    print(f"wrote {len(pages)} pages to {REFERENCE}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
