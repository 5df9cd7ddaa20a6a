"""parallel_map: results in order, computed in other processes, failures reported."""

from __future__ import annotations

import os

import pytest

from flowassets import FlowassetsError, parallel_map


def _square_and_pid(x: int) -> tuple[int, int]:
    return x * x, os.getpid()


def test_results_in_input_order_from_child_processes():
    results = parallel_map(_square_and_pid, range(8), max_parallel=3)
    assert [r[0] for r in results] == [x * x for x in range(8)]
    assert os.getpid() not in {r[1] for r in results}


def test_a_failing_item_raises_with_its_index():
    with pytest.raises(FlowassetsError, match="item 2 failed"):
        parallel_map(lambda x: 1 // (x - 2), range(4))
