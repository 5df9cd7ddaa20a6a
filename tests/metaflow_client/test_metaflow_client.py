"""Metaflow's own client (``from metaflow import Flow, ...``) over flowassets runs, through the
metaflow_extensions package shipped with flowassets: in a step of a flowassets run (selected by
the task itself) and in a fresh Python process that opts in with METAFLOW_DEFAULT_METADATA.
Everything runs in subprocesses with the test's own Dagster home, store and client cache; what
Metaflow's client reads is compared with what flowassets' own client reads."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from flowassets.client import Flow as FlowassetsFlow

ROOT = Path(__file__).resolve().parents[2]
FLOWS = Path(__file__).resolve().parent / "flows"


def _env(tmp: Path, user: str = "tester", opt_in: bool = False) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("METAFLOW_", "FLOWASSETS_"))
           or k == "FLOWASSETS_NO_DAEMON"}  # no warm worker left behind by a test
    env.update({
        "PYTHONPATH": os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")]),
        "DAGSTER_HOME": str(tmp / "dagster_home"),
        "FLOWASSETS_DATASTORE_SYSROOT_LOCAL": str(tmp / "store"),
        "METAFLOW_USER": user,
        "METAFLOW_CLIENT_CACHE_PATH": str(tmp / "metaflow_client_cache"),
        "METAFLOW_DATASTORE_SYSROOT_LOCAL": str(tmp / "metaflow_local"),
        # Metaflow loads the extension from this checkout, not another installed flowassets
        "METAFLOW_EXTENSIONS_SEARCH_DIRS": str(ROOT),
    })
    if opt_in:
        env["METAFLOW_DEFAULT_METADATA"] = "flowassets"
    return env


def _flowassets_run(tmp: Path, file: str, *args: str, user: str = "tester",
                    ok: bool = True, command: str = "run", extra_env: dict | None = None) -> str:
    """``flowassets run`` (or ``resume``) of a file under flows/; returns the run id."""
    id_file = tmp / f"run-id-{Path(file).name}-{len(list(tmp.glob('run-id-*')))}"
    quiet = ["--quiet"] if command == "run" else []
    proc = subprocess.run(
        [sys.executable, "-m", "flowassets.cli.main", command, str(FLOWS / file), *quiet,
         "--run-id-file", str(id_file), *args],
        cwd=tmp, env={**_env(tmp, user), **(extra_env or {})}, capture_output=True, text=True,
        timeout=300)
    assert (proc.returncode == 0) == ok, proc.stdout[-3000:] + proc.stderr[-3000:]
    return id_file.read_text().strip()


_READER = r'''
import json, sys
from metaflow import Flow, Run, Task, namespace, get_metadata, get_namespace

out = {"metadata": get_metadata(), "namespace": get_namespace()}
flow = Flow("MFClientUpstreamFlow")
out["runs"] = [r.id for r in flow]
run = flow.latest_successful_run
out["latest_successful"] = run.id
out["latest"] = flow.latest_run.id
out["successful"] = run.successful
out["finished"] = run.finished
out["finished_at"] = run.finished_at.timestamp()
out["created_at"] = run.created_at.timestamp()
out["user_tags"] = sorted(run.user_tags)
out["system_tags"] = sorted(run.system_tags)
out["total"] = run.data.total
out["steps"] = [s.id for s in run]
out["tasks"] = {s.id: sorted(t.id for t in s) for s in run}
measure = list(run["measure"])
out["lengths"] = {t.id: [t.index, t.data.length, t["length"].sha, t["length"].size,
                         t.successful, t.finished] for t in measure}
from metaflow import Metaflow
out["flows"] = [f.id for f in Metaflow().flows]
out["ds"] = [run["end"].task.metadata_dict.get(k) for k in ("ds-type", "ds-root")]
out["task_tags_equal"] = all(t.tags == run.tags for t in measure)
out["table"] = run["join"].task.data.table.to_dict("list")
out["stdout"] = {t.id: t.stdout for t in measure}
out["start_streams"] = [run["start"].task.stdout, run["start"].task.stderr]
out["attempt"] = run["end"].task.metadata_dict.get("attempt")
out["end_finished_at"] = run["end"].task.finished_at.timestamp()
out["by_pathspec"] = Task(run["end"].task.pathspec).data.total
failed = [r for r in flow if r.id != run.id]
out["failed"] = {r.id: [r.successful, r.finished, "end" in r] for r in failed}
run.add_tag("added-by-metaflow")
print(json.dumps(out))
'''


def _read(tmp: Path, script: str = _READER, user: str = "tester") -> dict:
    proc = subprocess.run([sys.executable, "-c", script], cwd=tmp, env=_env(tmp, user, opt_in=True),
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


def test_fresh_process_reads_runs_as_flowassets_client_does(tmp_path, monkeypatch):
    ok = _flowassets_run(tmp_path, "upstream.py", "--scale", "2", "--tag", "team:ml")
    failed = _flowassets_run(tmp_path, "upstream.py", "--fail", "true", ok=False)
    seen = _read(tmp_path)

    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "dagster_home"))
    monkeypatch.setenv("FLOWASSETS_DATASTORE_SYSROOT_LOCAL", str(tmp_path / "store"))
    ours = FlowassetsFlow("MFClientUpstreamFlow")
    run = ours[ok]
    assert seen["metadata"] == f"flowassets@{tmp_path / 'dagster_home'}"
    assert seen["namespace"] == "user:tester"
    assert seen["runs"] == [r.id for r in ours] == [failed, ok]  # newest first
    assert seen["latest"] == failed and seen["latest_successful"] == ok
    assert seen["successful"] and seen["finished"]
    assert seen["failed"] == {failed: [False, False, False]}  # its end step never finished
    assert seen["user_tags"] == ["team:ml"]
    assert set(seen["system_tags"]) == set(run.system_tags)
    assert "user:tester" in seen["system_tags"] and "runtime:flowassets" in seen["system_tags"]
    assert seen["total"] == run.data.total == 12
    assert seen["steps"] == [s.id for s in run]
    assert seen["tasks"] == {s.id: sorted(t.id for t in s) for s in run}
    assert seen["lengths"] == {t.id: [t.index, t.data.length, t["length"].sha,
                                      t["length"].size, True, True] for t in run["measure"]}
    assert seen["flows"] == ["MFClientUpstreamFlow"]
    assert seen["ds"] == ["flowassets", f"local:{tmp_path / 'store'}"]
    assert seen["task_tags_equal"]
    assert seen["table"] == run["join"].task.data.table.to_dict("list")
    assert seen["stdout"] == {t.id: t.stdout for t in run["measure"]}
    assert all(f"measured {item}" in seen["stdout"][t.id]
               for t, item in zip(run["measure"], ["a", "bb", "ccc"]))
    start = run["start"].task  # the two streams apart, as flowassets keeps them
    assert seen["start_streams"] == [start.stdout, start.stderr] == ["upstream starts\n", "upstream warns\n"]
    assert seen["attempt"] == "0"
    assert seen["end_finished_at"] == pytest.approx(run["end"].task.record.finished_at, abs=0.002)
    assert seen["finished_at"] == seen["end_finished_at"]
    assert seen["created_at"] <= seen["end_finished_at"]
    assert seen["by_pathspec"] == 12
    assert "added-by-metaflow" in ours[ok].user_tags  # Metaflow's add_tag wrote the Dagster tag


def test_namespaces_follow_the_launching_user(tmp_path):
    mine = _flowassets_run(tmp_path, "upstream.py")
    _flowassets_run(tmp_path, "upstream.py", user="someone_else")
    script = r'''
import json
from metaflow import Flow, namespace
from metaflow.exception import MetaflowNamespaceMismatch
out = {"default": [r.id for r in Flow("MFClientUpstreamFlow")]}
namespace(None)
out["all"] = len(list(Flow("MFClientUpstreamFlow")))
namespace("user:nobody")
try:
    Flow("MFClientUpstreamFlow")
    out["nobody"] = "visible"
except MetaflowNamespaceMismatch:
    out["nobody"] = "mismatch"
print(json.dumps(out))
'''
    seen = _read(tmp_path, script)
    assert seen == {"default": [mine], "all": 2, "nobody": "mismatch"}


def test_steps_read_other_flowassets_runs_through_metaflow(tmp_path, monkeypatch):
    upstream = _flowassets_run(tmp_path, "upstream.py", "--scale", "3", "--tag", "gold")
    _flowassets_run(tmp_path, "upstream.py", "--fail", "true", ok=False)  # newer, failed
    downstream = _flowassets_run(tmp_path, "downstream.py", "--tag", "chained")
    native = _flowassets_run(tmp_path, "native_downstream.py")

    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "dagster_home"))
    monkeypatch.setenv("FLOWASSETS_DATASTORE_SYSROOT_LOCAL", str(tmp_path / "store"))
    up = FlowassetsFlow("MFClientUpstreamFlow")[upstream]
    data = FlowassetsFlow("MFClientDownstreamFlow")[downstream]["end"].task.data
    assert data.upstream_run == upstream
    assert data.upstream_total == up.data.total == 18
    assert data.upstream_lengths == {t.index: t.data.length for t in up["measure"]}
    assert data.upstream_rows == up["join"].task.data.table["length"].tolist()
    assert data.upstream_tags == ["gold"]
    assert data.my_pathspec == f"MFClientDownstreamFlow/{downstream}/start/1"
    assert data.my_run_tags == ["chained"]
    assert data.doubled == 36
    native_data = FlowassetsFlow("MFClientNativeDownstreamFlow")[native]["start"].task.data
    assert native_data.upstream_total == 18


def test_metaflow_runtime_is_refused_by_the_read_only_provider(tmp_path):
    proc = subprocess.run([sys.executable, str(FLOWS / "upstream.py"), "run"], cwd=tmp_path,
                          env=_env(tmp_path, opt_in=True), capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode != 0
    assert "only reads runs made by flowassets" in proc.stdout + proc.stderr


def test_a_resumed_run_names_its_origin_as_metaflow_does(tmp_path):
    failed = _flowassets_run(tmp_path, "resumable.py", ok=False,
                             extra_env={"MFCLIENT_FAIL_END": "1"})
    # the downward-API variables a flowassets step pod gets (without the namespace, which would
    # make the task act as in a pod): its record keeps them as Metaflow's task metadata
    placed = {"FLOWASSETS_KUBERNETES_POD_NAME": "pod-end-1",
              "FLOWASSETS_KUBERNETES_NODE_IP": "10.1.2.3"}
    resumed = _flowassets_run(tmp_path, "resumable.py", command="resume", extra_env=placed)
    script = r'''
import json
from metaflow import Flow
run = Flow("MFClientResumableFlow").latest_successful_run
out = {"id": run.id, "origin": run.origin_pathspec, "doubled": run.data.doubled}
for step in run:
    task = step.task
    out[step.id] = [task.metadata_dict.get("origin-run-id"), task.origin_pathspec,
                    task.stdout, task.data.value, task.metadata_dict.get("kubernetes-pod-name"),
                    task.metadata_dict.get("kubernetes-node-ip")]
print(json.dumps(out))
'''
    seen = _read(tmp_path, script)
    flow = "MFClientResumableFlow"
    assert seen["id"] == resumed and seen["doubled"] == 14
    assert seen["origin"] == f"{flow}/{failed}"
    # start was reused from the failed run (its output too); end ran again in the resumed run
    assert seen["start"] == [failed, f"{flow}/{failed}/start/1", "start ran\n", 7, None, None]
    assert seen["end"][0] == failed and seen["end"][1] is None and seen["end"][3] == 7
    assert seen["end"][4:] == ["pod-end-1", "10.1.2.3"]


def test_control_tasks_of_a_parallel_step_is_node_zero(tmp_path):
    """Metaflow's ``Step.control_tasks()`` finds the control task of a @parallel gang by the
    task metadata Metaflow's @parallel writes (internal_task_type=control_task)."""
    run_id = _flowassets_run(tmp_path, "parallel_gang.py")
    script = r'''
import json, sys
from metaflow import Step
step = Step("MFClientParallelFlow/%s/gang" % sys.argv[1])
control = list(step.control_tasks())
print(json.dumps({"tasks": sorted(t.id for t in step.tasks()),
                  "control": [[t.id, t.data.node, t.data.control,
                               t.metadata_dict.get("internal_task_type")] for t in control],
                  "workers": sorted(t.metadata_dict.get("internal_task_type", "-")
                                    for t in step if t.id not in [c.id for c in control])}))
'''
    proc = subprocess.run([sys.executable, "-c", script, run_id], cwd=tmp_path,
                          env=_env(tmp_path, opt_in=True), capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    seen = json.loads(proc.stdout.strip().splitlines()[-1])
    assert len(seen["tasks"]) == 3
    [(task_id, node, control_id, kind)] = seen["control"]
    assert (node, kind) == (0, "control_task") and task_id == control_id
    assert seen["workers"] == ["-", "-"]  # the other nodes carry no task type, as in Metaflow


_LOOP_READER = r'''
import json
from metaflow import Flow
run = Flow("LoopFlow").latest_successful_run
print(json.dumps({step: sorted([t.id, t.data.count] for t in run[step]) for step in ("grow", "spin")}))
'''


def test_loop_passes_are_tasks_to_metaflow_too(tmp_path, monkeypatch):
    """Each pass of a loop (a recursive switch) is a task Metaflow's client lists and reads,
    with the id and artifacts flowassets' own client gives it."""
    run_id = _flowassets_run(tmp_path, str(ROOT / "tests" / "metaflow_files" / "flows" / "loop.py"))
    seen = _read(tmp_path, _LOOP_READER)
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "dagster_home"))
    monkeypatch.setenv("FLOWASSETS_DATASTORE_SYSROOT_LOCAL", str(tmp_path / "store"))
    run = FlowassetsFlow("LoopFlow")[run_id]
    ours = {step: sorted([t.id, t.data.count] for t in run[step]) for step in ("grow", "spin")}
    assert seen == ours
    assert [t.id for t in run["grow"]] == ["2.0", "2.1", "2.2", "2.3"]  # one task per pass
