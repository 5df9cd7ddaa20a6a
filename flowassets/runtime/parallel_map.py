"""Metaflow's ``parallel_map``: apply a function to items in forked processes, keep the order.

Runs on the same fork pool as foreach tasks, so a crash in one item is reported, not fatal.
"""

from __future__ import annotations

import os
import sys
from typing import Callable, Iterable, TypeVar

from ..errors import FlowassetsError
from .pool import run_forked

A = TypeVar("A")
R = TypeVar("R")


def parallel_map(func: Callable[[A], R], iterable: Iterable[A], max_parallel: int | None = None,
                 dir: str | None = None) -> list[R]:  # noqa: A002 - Metaflow's argument name
    items = list(enumerate(iterable))
    workers = max_parallel or os.cpu_count() or 1
    results: dict[int, R] = {}
    for outcome in run_forked(items, lambda pair: func(pair[1]), workers):
        index = outcome.item[0]
        if outcome.stdout:
            print(outcome.stdout.decode(errors="replace"), end="")
        if outcome.stderr:
            print(outcome.stderr.decode(errors="replace"), end="", file=sys.stderr)
        if not outcome.ok:
            raise FlowassetsError(f"parallel_map: item {index} failed: "
                                  f"{outcome.error or outcome.crash}")
        results[index] = outcome.value
    return [results[i] for i in range(len(items))]
