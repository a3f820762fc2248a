"""``show`` and timelines inside a real Jupyter kernel: outputs updated in place, interrupts.

Real kernels on the real clock: nothing here asserts a speed. The rate limit is checked as an
upper bound on the number of updates for the time the run took (measured in the kernel).
"""

from __future__ import annotations

import base64
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from jupyter_client.kernelspec import KernelSpecManager

from .kernels import SHOW_NOTEBOOK, KernelRuns, LiveKernel
from .show_cells import CELLS, SETUP


@pytest.fixture(scope="module")
def outputs(kernel_runs: KernelRuns) -> dict[str, list[Any]]:
    nb, error = kernel_runs[SHOW_NOTEBOOK]
    if error is not None:
        raise error
    return {name: nb.cells[n + 1].outputs for n, name in enumerate(CELLS)}


def only_display(outputs: list[Any]) -> str:
    """The text of the cell's single display output (updates replace it in place)."""
    displays = [out for out in outputs if out["output_type"] == "display_data"]
    assert len(displays) == 1, outputs
    return str(displays[0]["data"]["text/plain"])


def test_text_mode_shows_the_joined_text_and_how_it_ended(outputs: dict[str, list[Any]]) -> None:
    text = only_display(outputs["text"])
    assert re.fullmatch(r"Hello world\n\[ended: 4 items in \d+\.\d s\]", text), text


def test_latest_mode_leaves_the_last_item_in_one_output(outputs: dict[str, list[Any]]) -> None:
    assert len(outputs["latest"]) == 1
    assert re.fullmatch(r"999\n\[ended: 1000 items in \d+\.\d s\]", only_display(outputs["latest"]))


def test_log_mode_keeps_the_last_lines_and_counts_the_rest(outputs: dict[str, list[Any]]) -> None:
    lines = only_display(outputs["log"]).split("\n")
    assert lines[:4] == ["... 47 earlier lines", "line 47", "line 48", "line 49"]
    assert lines[4].startswith("[ended: 50 items in ")


def test_status_false_shows_only_the_items(outputs: dict[str, list[Any]]) -> None:
    assert only_display(outputs["no-status"]) == "a\nb"


def test_an_error_is_shown_then_raised(outputs: dict[str, list[Any]]) -> None:
    shown = only_display(outputs["error"])
    assert shown.startswith("-1.0\n[error after 1 item in ")
    assert shown.endswith("ZeroDivisionError: division by zero]")
    (error,) = [out for out in outputs["error"] if out["output_type"] == "error"]
    assert error["ename"] == "ZeroDivisionError"


def test_file_prints_instead_of_displaying(outputs: dict[str, list[Any]]) -> None:
    printed = "".join(out["text"] for out in outputs["terminal"] if out["output_type"] == "stream")
    assert re.fullmatch(r"x\ny\n\[ended: 2 items in \d+\.\d s\]\n", printed), printed
    assert not [out for out in outputs["terminal"] if out["output_type"] == "display_data"]


def test_a_timeline_displays_as_a_picture(outputs: dict[str, list[Any]]) -> None:
    (result,) = outputs["timeline"]
    assert result["data"]["text/plain"] == "<Timeline: 2 lane(s), 9 event(s) over 3 s>"
    assert base64.b64decode(result["data"]["image/png"]).startswith(b"\x89PNG\r\n\x1a\n")


# -- message by message: update counts and interrupts -----------------------------------------


@pytest.fixture(scope="module")
def kernel(kernel_specs: KernelSpecManager, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveKernel]:
    live = LiveKernel(kernel_specs, tmp_path_factory.mktemp("cwd"))
    try:
        reply, _ = live.run(SETUP)
        assert reply["status"] == "ok", reply
        yield live
    finally:
        live.close()


def display_texts(messages: list[dict[str, Any]], kind: str) -> list[str]:
    return [m["content"]["data"]["text/plain"] for m in messages if m["msg_type"] == kind]


def test_a_fast_stream_is_shown_at_most_rate_times_a_second(kernel: LiveKernel) -> None:
    reply, messages = kernel.run(
        "started = anyio.current_time()\n"
        "await show(sk.interval(0.002) | sk.take(400), rate=5)\n"
        "print(anyio.current_time() - started)"
    )
    assert reply["status"] == "ok", reply
    elapsed = float("".join(m["content"]["text"] for m in messages if m["msg_type"] == "stream"))
    (first,) = display_texts(messages, "display_data")
    updates = display_texts(messages, "update_display_data")
    print(f"{len(updates)} updates for 400 items in {elapsed:.2f} s at rate=5")
    assert first == "[waiting: 0 items in 0.0 s]"
    # One refresh per 1/rate window (leading, then trailing), plus the final one.
    assert 1 <= len(updates) <= 5 * elapsed + 2
    assert updates[-1].startswith("399\n[ended: 400 items in ")


def test_interrupting_a_cell_closes_the_shown_stream(kernel: LiveKernel) -> None:
    msg_id = kernel.start(
        "closed = []\n"
        "async def forever():\n"
        "    try:\n"
        "        n = 0\n"
        "        while True:\n"
        "            yield n\n"
        "            n += 1\n"
        "            await anyio.sleep(0.01)\n"
        "    finally:\n"
        "        closed.append('source closed')\n"
        "await show(sk.Stream(forever))"
    )
    kernel.outputs_until(msg_id, seen="[running")
    kernel.manager.interrupt_kernel()
    reply = kernel.reply(msg_id)
    print("reply to the interrupted cell:", reply["status"], reply.get("ename"))
    assert reply["status"] == "error"
    final = kernel.outputs_until(msg_id, seen="[stopped")[-1]
    assert final["msg_type"] == "update_display_data"
    check, messages = kernel.run("print(closed)")
    assert check["status"] == "ok"
    assert "".join(m["content"]["text"] for m in messages if m["msg_type"] == "stream") == "['source closed']\n"


def test_interrupting_a_virtual_run_cancels_it_and_runs_its_cleanup(kernel: LiveKernel) -> None:
    msg_id = kernel.start(
        "virtual_closed = []\n"
        "async def endless():\n"
        "    try:\n"
        "        print('started', flush=True)\n"
        "        await sk.interval(1).count()   # never ends, on a clock that never waits\n"
        "    finally:\n"
        "        virtual_closed.append('closed')\n"
        "run_virtual(endless)"
    )
    kernel.outputs_until(msg_id, seen="started")
    kernel.manager.interrupt_kernel()
    reply = kernel.reply(msg_id)
    assert reply["status"] == "error"
    assert reply["ename"] == "KeyboardInterrupt"
    check, messages = kernel.run("print(virtual_closed)")
    assert "".join(m["content"]["text"] for m in messages if m["msg_type"] == "stream") == "['closed']\n", (check, [(m["msg_type"], m["content"]) for m in messages])


def test_kernel_runs_this_python(kernel: LiveKernel) -> None:
    import sys

    _, messages = kernel.run("print(sys.executable)")
    printed = "".join(m["content"]["text"] for m in messages if m["msg_type"] == "stream").strip()
    assert Path(printed) == Path(sys.executable)

