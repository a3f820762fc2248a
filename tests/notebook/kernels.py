"""Running code in a real Jupyter kernel of *this* Python (the venv's), headlessly.

The kernel is named by a kernelspec written to a temporary directory with ``sys.executable``
in its command line, so the tests never pick up a ``python3`` kernel of another Python from the
user's or the system's Jupyter directories, and need nothing installed but the venv. The spec
sets ``MPLBACKEND=Agg``: pictures render headlessly.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TypeAlias

import nbformat
from jupyter_client.kernelspec import KernelSpecManager
from jupyter_client.manager import AsyncKernelManager, KernelManager
from nbclient import NotebookClient

NOTEBOOKS = sorted((Path(__file__).parents[2] / "notebooks").glob("*.ipynb"))
SHOW_NOTEBOOK = "show in a kernel"
KernelRuns: TypeAlias = dict[str, tuple[nbformat.NotebookNode, BaseException | None]]
"""Executed notebooks by name: each with its outputs, and the error that stopped it (or None)."""

KERNEL_NAME = "streamkit-test-venv"
_OUTPUTS = {"stream", "display_data", "update_display_data", "execute_result", "error"}
CELL_TIMEOUT = 60  # seconds; a stuck cell fails the test instead of hanging it


def write_kernelspec(directory: Path) -> KernelSpecManager:
    spec_dir = directory / "kernels" / KERNEL_NAME
    spec_dir.mkdir(parents=True, exist_ok=True)
    spec = {
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": f"streamkit tests ({sys.executable})",
        "language": "python",
        "interrupt_mode": "signal",
        "env": {"MPLBACKEND": "Agg", "PYDEVD_DISABLE_FILE_VALIDATION": "1"},
    }
    (spec_dir / "kernel.json").write_text(json.dumps(spec))
    return KernelSpecManager(kernel_dirs=[str(directory / "kernels")])


def notebook(*cells: str | tuple[str, Sequence[str]]) -> nbformat.NotebookNode:
    """A notebook of code cells; ``(source, tags)`` tags a cell (e.g. ``raises-exception``)."""
    nb = nbformat.v4.new_notebook()
    for cell in cells:
        source, tags = (cell, ()) if isinstance(cell, str) else cell
        code = nbformat.v4.new_code_cell(source)
        code.metadata["tags"] = list(tags)
        nb.cells.append(code)
    return nb


def client(nb: nbformat.NotebookNode, specs: KernelSpecManager, cwd: Path) -> NotebookClient:
    manager = AsyncKernelManager(kernel_name=KERNEL_NAME, kernel_spec_manager=specs)
    return NotebookClient(
        nb, km=manager, timeout=CELL_TIMEOUT, resources={"metadata": {"path": str(cwd)}}, shutdown_kernel="immediate"
    )


def execute_all(notebooks: Sequence[nbformat.NotebookNode], specs: KernelSpecManager, cwd: Path) -> list[BaseException | None]:
    """Execute notebooks concurrently (one kernel each); each one's error, or None. Outputs land in place."""

    async def run_all() -> list[BaseException | None]:
        clients = [client(nb, specs, cwd) for nb in notebooks]
        # cleanup_kc: a kernel manager passed in is not shut down by nbclient unless asked to.
        results = await asyncio.gather(*(c.async_execute(cleanup_kc=True) for c in clients), return_exceptions=True)
        return [r if isinstance(r, BaseException) else None for r in results]

    return asyncio.run(run_all())


class LiveKernel:
    """A kernel driven message by message, for what a notebook file cannot do (interrupting a cell)."""

    def __init__(self, specs: KernelSpecManager, cwd: Path) -> None:
        self.manager = KernelManager(kernel_name=KERNEL_NAME, kernel_spec_manager=specs)
        self.manager.start_kernel(cwd=str(cwd))
        self.client = self.manager.client()
        self.client.start_channels()
        self.client.wait_for_ready(timeout=CELL_TIMEOUT)

    def start(self, code: str) -> str:
        return str(self.client.execute(code))

    def outputs_until(self, msg_id: str, *, seen: str, timeout: float = CELL_TIMEOUT) -> list[dict[str, Any]]:
        """Collect the cell's output messages until one contains the text ``seen``."""
        messages: list[dict[str, Any]] = []
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            message = self.client.get_iopub_msg(timeout=timeout)
            if message["parent_header"].get("msg_id") != msg_id or message["msg_type"] not in _OUTPUTS:
                continue
            messages.append(message)
            if seen in json.dumps(message["content"]):
                return messages
        raise AssertionError(f"the kernel never showed {seen!r}; got {messages}")

    def reply(self, msg_id: str) -> dict[str, Any]:
        while True:
            message = self.client.get_shell_msg(timeout=CELL_TIMEOUT)
            if message["parent_header"].get("msg_id") == msg_id:
                return dict(message["content"])

    def run(self, code: str) -> tuple[dict[str, Any], list[dict[str, Any]]]:
        """Run ``code`` to its end: its reply and its output messages."""
        msg_id = self.start(code)
        reply = self.reply(msg_id)
        messages = []
        while True:
            message = self.client.get_iopub_msg(timeout=CELL_TIMEOUT)
            if message["parent_header"].get("msg_id") != msg_id:
                continue
            if message["msg_type"] == "status" and message["content"]["execution_state"] == "idle":
                return reply, messages
            messages.append(message)

    def close(self) -> None:
        self.client.stop_channels()
        self.manager.shutdown_kernel(now=True)
