"""A compat test module runs its flow once under both systems and shares the comparison.

Each module marks itself ``xdist_group`` by flow, so the module-scoped run happens on one worker.
"""

from __future__ import annotations

from typing import Callable

import pytest

from .harness import Comparison, run_both


@pytest.fixture(scope="module")
def compare_flow(tmp_path_factory) -> Callable[..., Comparison]:
    """Runs (source, args) once per module and caches the comparison."""
    cache: dict[tuple, Comparison] = {}

    def run(source: str, args: tuple[str, ...] = (), **kwargs) -> Comparison:
        key = (source, args, tuple(sorted(kwargs.items())))
        if key not in cache:
            cache[key] = run_both(source, tmp_path_factory.mktemp("compat"), args, **kwargs)
        return cache[key]

    return run
