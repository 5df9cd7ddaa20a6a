"""@parallel run locally: N processes on 127.0.0.1 that really rendezvous over TCP (node 0
listens on current.parallel.main_ip, the others connect), and a join that sees all N."""

from __future__ import annotations

import socket
from pathlib import Path

import dagster as dg
import pytest

from flowassets import flow_to_job
from flowassets.client import Flow
from tests.conftest import load_flow

FLOW_FILE = Path(__file__).with_name("flows") / "parallel_flow.py"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def execute(flow: str, nodes: int, max_workers: int = 16):
    job = flow_to_job(load_flow(FLOW_FILE, flow))
    return job.execute_in_process(
        run_config={"ops": {"start": {"config": {"nodes": nodes, "port": free_port()}}},
                    "resources": {"flowassets_runtime": {"config": {"max_workers": max_workers}}}},
        instance=dg.DagsterInstance.get(), raise_on_error=False)


def run_parallel(nodes: int, max_workers: int = 16, flow: str = "ParallelFlow"):
    result = execute(flow, nodes, max_workers)
    assert result.success
    return Flow(flow)[result.run_id]


@pytest.mark.parametrize("nodes", [4])
def test_nodes_rendezvous_over_tcp_and_the_join_sees_every_node(nodes):
    run = run_parallel(nodes)
    gather = run["gather"].task.data
    assert gather.indices == list(range(nodes))
    # Every node came back from the rendezvous with the same, complete world.
    assert gather.worlds == [list(range(nodes))] * nodes
    assert gather.main_ips == ["127.0.0.1"]
    assert gather.num_nodes_seen == [nodes]
    assert gather.controls == ["2-0"]  # node 0's task (step 2, node 0) is the control task
    assert gather.task_ids == sorted(f"2-{i}" for i in range(nodes))
    assert sorted(t.id for t in run["train"].tasks()) == gather.task_ids


def test_all_nodes_start_even_above_max_workers():
    """A rendezvous waits for every node: capping concurrency below N would deadlock it."""
    run = run_parallel(3, max_workers=1)
    assert run["gather"].task.data.worlds == [[0, 1, 2]] * 3


def test_a_failing_node_stops_the_nodes_waiting_for_it():
    result = execute("ParallelFailFlow", 3)
    assert not result.success
    (failure,) = [e for e in result.all_events if e.event_type_value == "STEP_FAILURE"]
    text = failure.event_specific_data.user_failure_data.description
    assert failure.step_key == "train"
    assert "ValueError: node 1 cannot train" in text
    assert "The other @parallel nodes of the step were stopped." in text
    # Nodes 0 and 2 were stopped in their rendezvous, not left to time out in it.
    assert "timed out" not in text and "TimeoutError" not in text


def test_retry_reruns_the_whole_gang():
    gather = run_parallel(3, flow="ParallelRetryFlow")["gather"].task.data
    assert gather.attempts == [1, 1, 1]  # every node ran again, not only the one that failed
    assert gather.worlds == [[0, 1, 2]] * 3
