"""Argument checks shared by every constructor: bad input fails when the pipeline is built."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any, TypeVar

from streamkit._core.closing import describe

F = TypeVar("F", bound=Callable[..., Any])


def check_positive_int(name: str, value: object) -> int:
    """``value`` if it is an int >= 1, else a TypeError/ValueError naming ``name``."""
    return check_whole(name, value, minimum=1)


def check_whole(name: str, value: object, *, minimum: int = 0) -> int:
    """``value`` if it is an int >= ``minimum`` (bools refused), else an error naming ``name``."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an int, got {describe(value)}")
    if value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value}")
    return value


def check_seconds(name: str, value: object, *, allow_zero: bool = True, allow_inf: bool = False) -> float:
    """``value`` as a float number of seconds, else an error naming ``name``."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError(f"{name} must be a number of seconds, got {describe(value)}")
    result = float(value)
    if math.isnan(result) or result < 0 or (result == 0 and not allow_zero):
        bound = ">= 0" if allow_zero else "> 0"
        raise ValueError(f"{name} must be {bound} seconds, got {value!r}")
    if math.isinf(result) and not allow_inf:
        raise ValueError(f"{name} must be a finite number of seconds, got {value!r}")
    return result


def check_callable(name: str, value: F) -> F:
    """``value`` if it is callable, else a TypeError naming ``name``."""
    if not callable(value):
        raise TypeError(f"{name} must be callable, got {describe(value)}")
    return value


def check_exception_types(name: str, value: object) -> tuple[type[Exception], ...]:
    """``value`` (an Exception subclass or a tuple of them) as a tuple, else a TypeError naming ``name``.

    BaseException subclasses are refused: catching them would swallow cancellation.
    """
    types = value if isinstance(value, tuple) else (value,)
    for each in types:
        if not (isinstance(each, type) and issubclass(each, Exception)):
            raise TypeError(f"{name} must be an Exception subclass or a tuple of them, got {describe(each)}")
    return types
