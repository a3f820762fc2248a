"""The docstring examples in streamkit._framing are run, so they stay true."""

from __future__ import annotations

import doctest
from types import ModuleType

import pytest

from streamkit._framing import errors, ndjson, sse, text


@pytest.mark.parametrize("module", [errors, ndjson, sse, text], ids=lambda m: m.__name__)
def test_docstring_examples(module: ModuleType) -> None:
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS, raise_on_error=False, verbose=False)
    assert result.attempted > 0
    assert result.failed == 0
