"""Notebook tests: pictures render with Agg; kernels are the venv's own Python.

Starting a kernel takes a second or two, so every notebook the tests execute (the ones under
notebooks/ and the small one exercising ``show``) runs once per session, all at once.
"""

from __future__ import annotations

import matplotlib
import nbformat
import pytest
from jupyter_client.kernelspec import KernelSpecManager

from .kernels import NOTEBOOKS, SHOW_NOTEBOOK, KernelRuns, execute_all, notebook, write_kernelspec
from .show_cells import CELLS, SETUP

matplotlib.use("Agg")  # never a window, whatever the machine's default backend


@pytest.fixture(scope="session")
def kernel_specs(tmp_path_factory: pytest.TempPathFactory) -> KernelSpecManager:
    return write_kernelspec(tmp_path_factory.mktemp("jupyter"))


@pytest.fixture(scope="session")
def kernel_runs(kernel_specs: KernelSpecManager) -> KernelRuns:
    """Each notebook executed in a fresh kernel, by name: the notebook with its outputs, and its error."""
    runs: dict[str, nbformat.NotebookNode] = {}
    for path in NOTEBOOKS:
        nb = nbformat.read(path, as_version=4)
        for cell in nb.cells:
            if cell.cell_type == "code":
                cell.outputs = []  # what is checked is this run's output, not the stored one
        runs[path.name] = nb
    runs[SHOW_NOTEBOOK] = notebook(SETUP, *CELLS.values())
    # The notebooks' own folder is the working directory, as when one opens them in Jupyter.
    errors = execute_all(list(runs.values()), kernel_specs, NOTEBOOKS[0].parent)
    return {name: (nb, error) for (name, nb), error in zip(runs.items(), errors, strict=True)}
