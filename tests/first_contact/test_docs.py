"""Every public name has a docstring with an example, and docs/reference/ is built from them."""

from __future__ import annotations

import importlib
import inspect
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
MODULES = ["streamkit", "streamkit.llm", "streamkit.broker", "streamkit.notebook", "streamkit.testing"]

KNOWN_GAPS: set[str] = set()


def public_objects() -> list[tuple[str, object]]:
    found = []
    for module_name in MODULES:
        module = importlib.import_module(module_name)
        for name in module.__all__:
            obj = getattr(module, name)
            # Documented names only: functions and classes (not type aliases, constants or fixtures).
            if inspect.isclass(obj) or inspect.isfunction(obj):
                found.append((f"{module_name}.{name}", obj))
    return found


def has_example(doc: str) -> bool:
    return ">>>" in doc or "::" in doc or "```" in doc


@pytest.mark.parametrize(
    ("qualified", "obj"),
    [
        pytest.param(q, o, marks=pytest.mark.xfail(reason="docstring example pending", strict=True)) if q in KNOWN_GAPS else (q, o)
        for q, o in public_objects()
    ],
    ids=lambda value: value if isinstance(value, str) else "",
)
def test_public_name_has_a_docstring_with_an_example(qualified: str, obj: object) -> None:
    doc = inspect.getdoc(obj) or ""
    assert doc.strip(), f"{qualified} has no docstring"
    if inspect.isclass(obj) and issubclass(obj, BaseException):
        return  # an exception's docstring says when it is raised; an example adds nothing
    assert has_example(doc), f"{qualified}'s docstring has no example (>>> or a code block)"


def test_reference_pages_are_up_to_date() -> None:
    result = subprocess.run([sys.executable, str(ROOT / "docs" / "build.py"), "--check"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
