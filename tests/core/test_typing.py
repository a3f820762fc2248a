"""Types survive piping: ``mypy --strict`` accepts tests/core/typing_check.py (a file of assert_type claims)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

CHECKED = Path(__file__).with_name("typing_check.py")
ROOT = Path(__file__).parents[2]


def test_types_survive_piping_under_mypy_strict() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--warn-unreachable", str(CHECKED)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, f"mypy --strict failed:\n{result.stdout}{result.stderr}"
    assert "Success: no issues found in 1 source file" in result.stdout
