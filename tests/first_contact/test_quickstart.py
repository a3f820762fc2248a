"""The README's quick start, followed literally in a fresh virtual environment.

Both commands are parsed from README.md. The demo command runs as written, on a free port
through ``STREAMKIT_DEMO_PORT=0`` (which the README command does not need), and is stopped
with SIGINT like Ctrl+C. The test command is run as written too, but with
``STREAMKIT_QUICKSTART_INNER=1`` (so this test skips itself inside it) and
``PYTEST_ADDOPTS`` narrowing it to this directory's quick CLI tests: running the whole suite a
second time would double CI's time, and .ci/run already runs it, with the same command line.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import venv
from pathlib import Path

import httpx
import pytest

from tests.first_contact.demo_client import PIPELINES, first_bytes, running_demo

ROOT = Path(__file__).resolve().parents[2]
INNER = "STREAMKIT_QUICKSTART_INNER"


def quick_start_commands() -> list[str]:
    """The shell commands of the README's Quick start block, in order."""
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    block = re.search(r"```(?:console|shell|sh|bash)?\n(.*?)```", section, re.S)
    assert block, "README.md's Quick start has no fenced block of commands"
    commands = [line.removeprefix("$ ").strip() for line in block.group(1).splitlines() if line.strip()]
    assert len(commands) == 2, f"the Quick start should be exactly two commands, found {commands}"
    return commands


def test_readme_test_command_is_the_one_ci_runs() -> None:
    readme = (ROOT / "README.md").read_text()
    ci_command = re.findall(r"^    \$ (.*pytest.*)$", readme, re.M)[0]
    assert quick_start_commands()[1] == ci_command


@pytest.mark.skipif(os.environ.get(INNER) == "1", reason="inside the quick start's own test run")
def test_quick_start_in_a_fresh_virtual_environment(tmp_path: Path) -> None:
    demo_command, test_command = quick_start_commands()
    environment_dir = tmp_path / "venv"
    venv.create(environment_dir, with_pip=True)
    env = {key: value for key, value in os.environ.items() if key not in ("VIRTUAL_ENV", "PYTHONPATH", "PYTEST_ADDOPTS")}
    env["VIRTUAL_ENV"] = str(environment_dir)
    env["PATH"] = f"{environment_dir / 'bin'}{os.pathsep}{env['PATH']}"
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    env["PIP_NO_COMPILE"] = "1"  # the install is the slow part here; byte-compiling it is not needed
    # `python` in the README is the fresh environment's, as for a user who activated it.
    assert demo_command.startswith("python -m pip install") and test_command.startswith("python -m pip install")

    with running_demo(f"cd {ROOT} && {demo_command}", env=env) as (url, demo):
        assert "streamkit demo" in httpx.get(url, timeout=10).text
        for path, expected in PIPELINES.items():
            assert expected in first_bytes(url, path, expected)
    assert demo.returncode == 0, demo.output.decode(errors="replace")[-3000:]

    inner = dict(env, **{INNER: "1", "PYTEST_ADDOPTS": "-q -p no:cacheprovider tests/first_contact/test_cat.py"})
    result = subprocess.run(test_command, shell=True, cwd=ROOT, env=inner, capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert re.search(r"\d+ passed", result.stdout), result.stdout[-2000:]
    assert sys.executable not in result.stdout  # it ran in the fresh environment, not this one
