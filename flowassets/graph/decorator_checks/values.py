"""Value rules shared by several decorators: numbers as Metaflow reads them, booleans, choices.

A ``Checker`` takes (parameter, value) and returns None or a sentence that quotes the value; the
caller (``steps_and_flow.check_decorator_args``) adds flow, step, decorator, file and line. These
live at the graph level because ``graph.build`` refuses bad values when the job is built, and
the compute mappings (``compute/kubernetes.py``, ``compute/batch.py``) read the same numbers.
"""

from __future__ import annotations

import math
from typing import Any, Callable, Iterable

Checker = Callable[[str, Any], "str | None"]


def number(value: Any) -> float | None:
    """A finite number from an int, float or numeric string (Metaflow accepts "4" too)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        result = float(value)
    elif isinstance(value, str):
        try:
            result = float(value.strip())
        except ValueError:
            return None
    else:
        return None
    return result if math.isfinite(result) else None


def positive_number(unit: str) -> Checker:
    def check(name: str, value: Any) -> str | None:
        found = number(value)
        if found is None:
            return f"must be a number{unit}, got {value!r}"
        if found <= 0:
            return f"must be greater than 0{unit}, got {value!r}"
        return None
    return check


def positive_int(unit: str) -> Checker:
    def check(name: str, value: Any) -> str | None:
        found = number(value)
        if found is None or not found.is_integer() or found <= 0:
            return f"must be a whole number greater than 0{unit}, got {value!r}"
        return None
    return check


def non_negative_int(name: str, value: Any) -> str | None:
    found = number(value)
    if found is None or not found.is_integer() or found < 0:
        return f"must be a whole number >= 0, got {value!r}"
    return None


def one_of_ignoring_case(choices: Iterable[str]) -> Checker:
    """Metaflow compares qos and gpu_vendor case-insensitively; so do we."""
    allowed = tuple(choices)

    def check(name: str, value: Any) -> str | None:
        if not isinstance(value, str) or value.lower() not in {c.lower() for c in allowed}:
            return f"must be one of {', '.join(allowed)}, got {value!r}"
        return None
    return check


def boolean(name: str, value: Any) -> str | None:
    if not isinstance(value, bool):
        return f"must be True or False, got {value!r}"
    return None
