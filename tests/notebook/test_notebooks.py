"""Every notebook under notebooks/ runs top to bottom in a fresh kernel; a cell that raises fails."""

from __future__ import annotations

import pytest

from .kernels import NOTEBOOKS, KernelRuns


def test_the_notebooks_are_there() -> None:
    names = [path.name for path in NOTEBOOKS]
    assert {"01-quickstart.ipynb", "02-time-operators.ipynb", "04-tail-a-log-file.ipynb"} <= set(names)


@pytest.mark.parametrize("name", [path.name for path in NOTEBOOKS])
def test_notebook_runs_top_to_bottom(name: str, kernel_runs: KernelRuns) -> None:
    nb, error = kernel_runs[name]
    if error is not None:
        raise error
    code_cells = [cell for cell in nb.cells if cell.cell_type == "code"]
    assert all(cell.get("execution_count") for cell in code_cells), "a code cell was not executed"
    stderr = [out["text"] for cell in code_cells for out in cell.outputs if out.get("name") == "stderr"]
    assert not stderr, f"{name} wrote to stderr (a warning?): {stderr}"
    errors = [out for cell in code_cells for out in cell.outputs if out["output_type"] == "error"]
    assert not errors
