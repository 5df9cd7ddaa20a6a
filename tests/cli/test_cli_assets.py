"""`flowassets run --assets`: the CLI runs an asset-backed flow's asset job, so the Dagster
instance's asset catalog records each artifact's materialization with the same metadata as a
run of the same asset job launched from the UI (the job ``build_definitions`` gives it)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import dagster as dg

from flowassets import build_definitions, flow_to_assets
from flowassets.client import Flow
from tests.conftest import ROOT, load_flow

FLOW_FILE = ROOT / "tests" / "translate" / "flows" / "asset_flows.py"
ARTIFACTS = ("features", "model", "summary")


def flowassets(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-m", "flowassets.cli.main", *args], cwd=cwd,
                          capture_output=True, text=True, timeout=300, env=env)


def _metadata(instance: dg.DagsterInstance, name: str) -> tuple[str, dict]:
    event = instance.get_latest_materialization_event(dg.AssetKey(["TrainFlow", name]))
    assert event is not None, f"no materialization of TrainFlow/{name}"
    meta = {k: v.value for k, v in event.asset_materialization.metadata.items()}
    return event.run_id, meta


def test_cli_asset_run_records_the_materializations_a_ui_run_records(tmp_path):
    done = flowassets("run", str(FLOW_FILE), "--flow", "TrainFlow", "--assets", "--scale", "3",
                      "--run-id-file", "rid.txt", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    cli_run = (tmp_path / "rid.txt").read_text().strip()
    for step in ("start", "fit", "pick", "end"):  # progress names the steps, not "TrainFlow__assets.start"
        assert f"ok    {step}" in done.stdout
    instance = dg.DagsterInstance.get()
    cli = {name: _metadata(instance, name) for name in (*ARTIFACTS, "end")}
    assert {run_id for run_id, _ in cli.values()} == {cli_run}
    assert cli["model"][1]["flowassets/run_id"] == cli_run
    assert cli["model"][1]["flowassets/pathspec"].startswith(f"TrainFlow/{cli_run}/pick/")
    assert cli["features"][1]["flowassets/type"] == "list"
    # The client finds the run and its artifacts as for any flowassets run.
    assert Flow("TrainFlow")[cli_run].data.model == {"best": 3.0 * 3}

    # The same flow's asset job as the UI launches it, with the same parameter.
    defs = build_definitions([], assets=[flow_to_assets(load_flow(FLOW_FILE, "TrainFlow"))])
    ui = defs.resolve_job_def("TrainFlow").execute_in_process(
        instance=instance, run_config={"ops": {"TrainFlow__assets": {"ops": {"start": {"config": {"scale": 3}}}}}})
    assert ui.success
    for name in (*ARTIFACTS, "end"):
        ui_run, ui_meta = _metadata(instance, name)
        assert ui_run == ui.run_id
        assert set(ui_meta) == set(cli[name][1]), name
        if name in ARTIFACTS:  # the same content: the same blob
            assert ui_meta["flowassets/sha256"] == cli[name][1]["flowassets/sha256"], name


def test_cli_asset_run_of_chosen_artifacts_materializes_only_those(tmp_path):
    done = flowassets("run", str(FLOW_FILE), "--flow", "TrainFlow", "--asset", "model",
                      "--run-id-file", "rid.txt", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    run_id = (tmp_path / "rid.txt").read_text().strip()
    instance = dg.DagsterInstance.get()
    assert _metadata(instance, "model")[0] == run_id
    assert instance.get_latest_materialization_event(dg.AssetKey(["TrainFlow", "features"])) is None


def test_cli_refuses_an_artifact_that_cannot_be_an_asset_before_a_run(tmp_path):
    done = flowassets("run", str(FLOW_FILE), "--flow", "TrainFlow", "--asset", "score", cwd=tmp_path)
    assert done.returncode != 0
    assert "TrainFlow" in done.stderr and "'score'" in done.stderr and "foreach" in done.stderr
    assert not dg.DagsterInstance.get().get_runs()


def test_resume_of_an_asset_run_is_refused_naming_what_to_do(tmp_path):
    done = flowassets("run", str(FLOW_FILE), "--flow", "TrainFlow", "--asset", "model",
                      "--run-id-file", "rid.txt", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    run_id = (tmp_path / "rid.txt").read_text().strip()
    assert dg.DagsterInstance.get().get_run_by_id(run_id).tags["flowassets/assets"] == "model"
    resumed = flowassets("resume", str(FLOW_FILE), "end", "--flow", "TrainFlow",
                         "--origin-run-id", run_id, cwd=tmp_path)
    assert resumed.returncode != 0
    assert "TrainFlow" in resumed.stderr and "--assets" in resumed.stderr
    assert "Re-execute from failure" in resumed.stderr
    assert len(dg.DagsterInstance.get().get_runs()) == 1  # no new run
