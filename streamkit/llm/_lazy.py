"""Optional SDKs, imported only when their adapter is used."""

from __future__ import annotations

import importlib
from types import ModuleType


def require(module: str, *, extra: str, adapter: str) -> ModuleType:
    """Import ``module`` or raise an ImportError telling the user which extra to install.

    >>> require("openai", extra="openai", adapter="from_openai")   # doctest: +SKIP
    """
    try:
        return importlib.import_module(module)
    except ImportError as error:
        raise ImportError(
            f"{adapter}() needs the {module!r} package, which is not installed: pip install 'streamkit[{extra}]'"
        ) from error
