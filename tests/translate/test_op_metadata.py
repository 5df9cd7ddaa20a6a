"""What a run's steps show in the Dagster UI, read back from the instance's event log:
op output metadata (tasks, artifacts written with sizes and hashes, foreach index/input) and
the tasks' stdout/stderr as Dagster log lines."""

from __future__ import annotations

import dagster as dg

from flowassets import flow_to_job
from flowassets.client import Flow
from tests.conftest import load_flow


def _run(config=None):
    job = flow_to_job(load_flow("printing_flow.py"))
    instance = dg.DagsterInstance.get()
    result = job.execute_in_process(run_config=config or {}, instance=instance)
    assert result.success
    return instance, result


def _output_metadata(instance, run_id: str, step: str) -> dict:
    events = instance.get_records_for_run(
        run_id, of_type=dg.DagsterEventType.STEP_OUTPUT).records
    [event] = [e.event_log_entry.dagster_event for e in events
               if e.event_log_entry.dagster_event.step_key == step]
    return {k: v.value if hasattr(v, "value") else v
            for k, v in event.event_specific_data.metadata.items()}


def _rows(value) -> list[dict]:
    return [dict(record.data) for record in value.records]


def test_foreach_step_lists_each_tasks_written_artifacts_with_size_and_hash():
    instance, result = _run({"ops": {"start": {"config": {"prefix": "p"}}}})
    meta = _output_metadata(instance, result.run_id, "shout")
    run = Flow("PrintingFlow")[result.run_id]
    tasks = list(run["shout"])
    assert meta["tasks"] == 3
    assert meta["task_ids"] == ", ".join(t.id for t in tasks)
    rows = _rows(meta["artifacts written"])
    # Only what each task wrote: `text`, not `items`/`unchanged` passed on from start.
    assert [(r["task"], r["artifact"]) for r in rows] == [(t.id, "text") for t in tasks]
    for row, task in zip(rows, tasks):
        ref = task.record.artifacts["text"]
        assert row["type"] == "str"
        assert row["size_bytes"] == ref.size > 0
        assert row["sha256"] == ref.sha[:12]
        assert task["text"].data == f"p-{['a', 'bb', 'ccc'][task.index]}"
    assert meta["artifacts written (count)"] == 3
    assert meta["artifact bytes written"] == sum(r["size_bytes"] for r in rows)
    foreach = _rows(meta["foreach"])
    assert [(r["index"], r["of"], r["input"], r["split"]) for r in foreach] == [
        (0, 3, "'a'", "start.items"), (1, 3, "'bb'", "start.items"), (2, 3, "'ccc'", "start.items")]


def test_start_lists_parameters_and_its_own_artifacts_and_hashes_match_the_store():
    instance, result = _run()
    meta = _output_metadata(instance, result.run_id, "start")
    rows = {r["artifact"]: r for r in _rows(meta["artifacts written"])}
    assert set(rows) == {"prefix", "items", "unchanged"}
    task = Flow("PrintingFlow")[result.run_id]["start"].task
    for name, row in rows.items():
        assert task[name].sha.startswith(row["sha256"])
    assert task["items"].data == ["a", "bb", "ccc"]
    assert "foreach" not in meta  # start is not inside a foreach
    join = _output_metadata(instance, result.run_id, "join")
    assert [r["artifact"] for r in _rows(join["artifacts written"])] == ["texts"]
    end = _output_metadata(instance, result.run_id, "end")
    assert "artifacts written" not in end and end["artifacts written (count)"] == 0


def test_task_stdout_and_stderr_are_dagster_log_lines_of_their_step():
    instance, result = _run({"ops": {"start": {"config": {"prefix": "q"}}}})
    logs = [(r.step_key, r.user_message) for r in instance.all_logs(result.run_id)
            if r.dagster_event is None]
    shout = "\n".join(message for step, message in logs if step == "shout")
    for item in ["a", "bb", "ccc"]:
        assert f"stdout says q-{item}" in shout
        assert f"stderr says q-{item}" in shout
    assert not any("says" in message for step, message in logs if step != "shout")
