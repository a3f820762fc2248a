"""The public namespace is curated: ``__all__`` lists exactly what users may import."""

from __future__ import annotations

import importlib
import subprocess
import sys
import types

import pytest

PUBLIC_MODULES = ["streamkit", "streamkit.llm", "streamkit.broker", "streamkit.http", "streamkit.testing", "streamkit.notebook"]


@pytest.mark.parametrize("name", PUBLIC_MODULES)
def test_every_name_in_all_resolves_and_nothing_public_is_left_out(name: str) -> None:
    module = importlib.import_module(name)
    exported = set(module.__all__)
    assert len(exported) == len(module.__all__), "a name is listed twice"
    for attribute in exported:
        assert getattr(module, attribute) is not None
    # Functions and classes defined in a public module without an underscore are public.
    defined_here = {
        attribute
        for attribute, value in vars(module).items()
        if not attribute.startswith("_")
        and not isinstance(value, types.ModuleType)
        and getattr(value, "__module__", None) == name
        and callable(value)
    }
    assert defined_here <= exported, f"public but not in __all__: {sorted(defined_here - exported)}"


def test_importing_streamkit_loads_no_optional_dependency() -> None:
    code = (
        "import sys, streamkit, streamkit.llm, streamkit.broker, streamkit.http, streamkit.notebook\n"
        "heavy = {'openai', 'anthropic', 'ollama', 'langchain_core', 'httpx', 'redis', 'starlette', 'uvicorn', "
        "'matplotlib', 'IPython', 'aiostream', 'trio'}\n"
        "print(sorted(heavy & set(sys.modules)))\n"
    )
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert loaded == "[]"


def test_the_package_is_typed() -> None:
    import importlib.resources

    assert importlib.resources.files("streamkit").joinpath("py.typed").is_file()
