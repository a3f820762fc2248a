"""Argument parsing for ``python -m streamkit``; each command lives in its own module."""

from __future__ import annotations

import argparse
import os
from collections.abc import Sequence

import streamkit

DEMO_PORT_VARIABLE = "STREAMKIT_DEMO_PORT"
"""Overrides the demo's default port (``0`` picks a free one), so tests can run the README's
literal ``python -m streamkit demo`` without a flag."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m streamkit",
        description="streamkit: composable asyncio streams, SSE/NDJSON framing and sinks.",
        epilog="Run 'python -m streamkit COMMAND --help' for a command's options.",
    )
    parser.add_argument("--version", action="version", version=f"streamkit {streamkit.__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    demo = commands.add_parser(
        "demo",
        help="serve a local page with live pipelines (LLM tokens, sensor batches, a tailed log, heartbeats)",
        description="Serve a page on 127.0.0.1 showing several live streamkit pipelines side by side. "
        "No network or services needed. Stop with Ctrl+C.",
    )
    demo.add_argument(
        "--port",
        type=int,
        default=None,
        help=f"port on 127.0.0.1 (default: ${DEMO_PORT_VARIABLE} or 8000; 0 picks a free port)",
    )

    cat = commands.add_parser(
        "cat",
        help="read a file, stdin or URL and write it to stdout re-framed (lines -> SSE, SSE -> NDJSON, ...)",
        description="Read SOURCE (a file, '-' for stdin, or an http(s) URL) and write it to stdout re-framed. "
        "Progress goes to stderr when stderr is a terminal, or with --progress.",
        epilog="Examples:\n"
        "  python -m streamkit cat app.log --to sse\n"
        "  curl -sN URL | python -m streamkit cat - --from sse --to ndjson\n"
        "  python -m streamkit cat answer.sse --from sse --to text",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    cat.add_argument("source", nargs="?", default="-", metavar="SOURCE", help="a file, '-' (stdin, the default) or a URL")
    cat.add_argument(
        "--from", dest="read_as", choices=("lines", "sse", "ndjson", "bytes"), default="lines",
        help="how to split the input into items (default: lines)",
    )
    cat.add_argument(
        "--to", dest="write_as", choices=("sse", "ndjson", "lines", "text"), default="lines",
        help="how to frame each item on stdout (default: lines). "
        "From SSE, the items are the events' data (JSON-decoded for ndjson when it is JSON).",
    )
    cat.add_argument("--follow", action="store_true", help="keep reading a file as it grows, like tail -F")
    progress = cat.add_mutually_exclusive_group()
    progress.add_argument("--progress", dest="progress", action="store_true", default=None, help="always show progress on stderr")
    progress.add_argument("--no-progress", dest="progress", action="store_false", help="never show progress")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit status.

    >>> main(["cat", "app.log", "--to", "sse"])   # doctest: +SKIP
    0
    """
    parser = build_parser()
    arguments = parser.parse_args(argv)
    if arguments.command == "demo":
        from streamkit._cli.demo import run_demo

        port = arguments.port
        if port is None:
            raw = os.environ.get(DEMO_PORT_VARIABLE, "8000")
            try:
                port = int(raw)
            except ValueError:
                parser.error(f"${DEMO_PORT_VARIABLE} must be a port number, got {raw!r}")
        if not 0 <= port <= 65535:
            parser.error(f"--port must be between 0 and 65535, got {port}")
        return run_demo(port)
    if arguments.command == "cat":
        from streamkit._cli.cat import run_cat

        return run_cat(arguments.source, arguments.read_as, arguments.write_as, follow=arguments.follow, progress=arguments.progress)
    parser.print_help()
    return 0
