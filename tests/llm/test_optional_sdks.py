"""The SDKs are optional: importing streamkit (and streamkit.llm) imports none of them, and an
adapter whose SDK is missing says which extra to install."""

from __future__ import annotations

import subprocess
import sys

import pytest

from streamkit import llm

SDK_MODULES = ["openai", "anthropic", "ollama", "langchain_core", "httpx", "httpx2", "pydantic"]


def test_importing_streamkit_imports_no_sdk() -> None:
    code = (
        "import sys, streamkit, streamkit.llm\n"
        f"loaded = [m for m in {SDK_MODULES!r} if m in sys.modules]\n"
        "print(','.join(loaded))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    assert result.stdout.strip() == ""


@pytest.mark.parametrize(
    ("adapter", "module", "extra"),
    [
        (llm.from_openai, "openai", "openai"),
        (llm.from_anthropic, "anthropic", "anthropic"),
        (llm.from_ollama, "ollama", "ollama"),
        (llm.from_langchain, "langchain_core", "langchain"),
    ],
)
def test_an_adapter_without_its_sdk_names_the_extra(
    monkeypatch: pytest.MonkeyPatch, adapter: object, module: str, extra: str
) -> None:
    monkeypatch.setitem(sys.modules, module, None)  # makes `import module` fail
    with pytest.raises(ImportError, match=rf"needs the '{module}' package.*pip install 'streamkit\[{extra}\]'"):
        adapter([])  # type: ignore[operator]
