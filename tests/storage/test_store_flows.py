"""Whole flows on object storage: a run end to end, and a store outage in the middle of a run
followed by Dagster's re-execution from failure once the server is back."""

from __future__ import annotations

import io
import threading
import time
from pathlib import Path

import dagster as dg
import pandas as pd

from flowassets import flow_to_job
from flowassets.cli.reconstruct import reconstructable_job
from flowassets.storage import select
from flowassets.storage.artifacts import ArtifactStore
from flowassets.storage.io_manager import ArtifactStoreResource
from tests.conftest import load_flow

FLOWS = Path(__file__).resolve().parent / "flows"


def _store(bucket, flow: str) -> ArtifactStore:
    return ArtifactStore(select.open_backend(bucket.kind, bucket.root), flow)


def _end_artifacts(store: ArtifactStore, run_id: str) -> dict:
    (task,) = store.load_step(run_id, "end").tasks
    return {name: store.load(ref, name) for name, ref in task.artifacts.items()}


def test_flow_runs_end_to_end_with_every_object_under_the_prefix(object_store):
    flow = load_flow(FLOWS / "store_flow.py", "StoreFlow")
    resource = ArtifactStoreResource(datastore=object_store.kind, sysroot=object_store.root)
    result = flow_to_job(flow, resources={"flowassets_store": resource}).execute_in_process()
    assert result.success
    names = object_store.object_names()
    assert names and all(n.startswith(f"{object_store.prefix}/StoreFlow/") for n in names)
    run_prefix = f"{object_store.prefix}/StoreFlow/runs/{result.run_id}/"
    assert {n[len(run_prefix):].split("/")[0] for n in names if n.startswith(run_prefix)} == {
        "start", "square", "join", "end"}

    store = _store(object_store, "StoreFlow")
    end = _end_artifacts(store, result.run_id)
    assert end["total"] == 45 and end["rows"] == 3
    expected = pd.DataFrame({"x": [1, 2, 3], "label": ["a", "b", "c"]})
    pd.testing.assert_frame_equal(end["table"], expected)
    # The table went from start through join to end unchanged: stored once, as Parquet.
    (start_task,) = store.load_step(result.run_id, "start").tasks
    (end_task,) = store.load_step(result.run_id, "end").tasks
    assert start_task.artifacts["table"].sha == end_task.artifacts["table"].sha
    table_blobs = [n for n in names if n.endswith(start_task.artifacts["table"].sha)]
    assert len(table_blobs) == 1
    raw = object_store.read(table_blobs[0])
    pd.testing.assert_frame_equal(pd.read_parquet(io.BytesIO(raw)), expected)


def test_store_outage_mid_run_then_reexecution_from_failure(object_store, monkeypatch, tmp_path,
                                                           process_leak_check):
    monkeypatch.setenv("FLOWASSETS_DATASTORE", object_store.kind)
    monkeypatch.setenv(select.SYSROOT_ENV[object_store.kind], object_store.root)
    job = reconstructable_job(str(FLOWS / "outage_flow.py"), "OutageFlow")
    instance = dg.DagsterInstance.get()
    outcome: dict = {}
    runner = threading.Thread(
        target=lambda: outcome.update(first=dg.execute_job(job, instance, raise_on_error=False)))
    runner.start()
    deadline = time.monotonic() + 120
    while not (tmp_path / "reached").exists() and runner.is_alive() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert (tmp_path / "reached").exists(), "the run never reached the middle step"
    object_store.server.kill()
    (tmp_path / "go").touch()
    runner.join(timeout=300)
    first = outcome["first"]
    assert not first.success
    failed = [e.step_key for e in first.all_events if e.event_type == dg.DagsterEventType.STEP_FAILURE]
    assert failed == ["middle"]

    object_store.server.start()
    process_leak_check.allow(object_store.server.proc.pid)  # lives on for the session
    store = _store(object_store, "OutageFlow")
    assert store.has_step(first.run_id, "start")
    assert not store.has_step(first.run_id, "middle")  # no partial manifest of the failed step
    with dg.execute_job(job, instance, reexecution_options=dg.ReexecutionOptions.from_failure(
            first.run_id, instance)) as second:
        assert second.success
        ran = {e.step_key for e in second.all_events if e.event_type == dg.DagsterEventType.STEP_SUCCESS}
        run_id = second.run_id
    assert ran == {"middle", "end"}
    assert (tmp_path / "start_runs.txt").read_text() == "x"  # start was not run again
    assert _end_artifacts(_store(object_store, "OutageFlow"), run_id)["total"] == sum(range(1000)) * 2
