"""`flowassets run` against real object-store servers, as a user drives it: the store chosen by
environment variables, by ``--datastore`` or by a resource in ``build_definitions``; the client
reading results back in a new process that only has the environment; dedup across runs;
concurrent runs kept apart; and no credential in anything Dagster records or prints."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import dagster as dg
import pytest

from flowassets import build_definitions
from flowassets.storage import select
from flowassets.storage.io_manager import ArtifactStoreResource
from tests.conftest import load_flow
from tests.support.servers import AZURITE_KEY, S3_SECRET_KEY

FLOWS = Path(__file__).resolve().parent / "flows"
STORE_FLOW = str(FLOWS / "store_flow.py")
SECRETS = (S3_SECRET_KEY, AZURITE_KEY, "AccountKey=")


def _env(**overrides: str | None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("FLOWASSETS_DATASTORE")}
    env["FLOWASSETS_DATASTORE_SYSROOT_LOCAL"] = os.environ["FLOWASSETS_DATASTORE_SYSROOT_LOCAL"]
    for name, value in overrides.items():
        if value is None:
            env.pop(name, None)
        else:
            env[name] = value
    return env


def _cli(*args: str, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "flowassets.cli.main", "run", *args], cwd=cwd,
                          env=env, capture_output=True, text=True, timeout=300)


def _run(bucket, cwd: Path, label: str, *args: str, env: dict[str, str]) -> tuple[str, str]:
    done = _cli(*args, "--run-id-file", f"{label}.rid", cwd=cwd, env=env)
    assert done.returncode == 0, done.stderr[-3000:]
    return (cwd / f"{label}.rid").read_text().strip(), done.stdout + done.stderr


def _client(code: str, cwd: Path, env: dict[str, str]) -> object:
    """Client code in a fresh process: prints one JSON line."""
    done = subprocess.run([sys.executable, "-c", code], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def _recorded_text(run_id: str) -> str:
    """Everything Dagster keeps about a run and shows in its UI: tags, run config, the job
    snapshot (op tags, config schema and defaults) and every event-log entry."""
    instance = dg.DagsterInstance.get()
    run = instance.get_run_by_id(run_id)
    parts = [json.dumps(run.tags), json.dumps(run.run_config, default=str),
             dg.serialize_value(instance.get_job_snapshot(run.job_snapshot_id))]
    parts += [dg.serialize_value(entry) for entry in instance.all_logs(run_id)]
    return "\n".join(parts)


def _blobs(bucket) -> list[str]:
    return [n for n in bucket.object_names() if "/data/" in n]


def test_env_vars_choose_the_store_client_reads_back_and_unchanged_reruns_upload_nothing(
        object_store, tmp_path):
    kind, sysroot_env = object_store.kind, select.SYSROOT_ENV[object_store.kind]
    by_env = _env(FLOWASSETS_DATASTORE=kind, **{sysroot_env: object_store.root})
    first, output_1 = _run(object_store, tmp_path, "first", STORE_FLOW, env=by_env)
    names = object_store.object_names()
    assert names and all(n.startswith(f"{object_store.prefix}/StoreFlow/") for n in names)
    assert any(f"/runs/{first}/end/manifest.json" in n for n in names)
    local = Path(os.environ["FLOWASSETS_DATASTORE_SYSROOT_LOCAL"])
    assert not local.exists() or not any(local.iterdir())  # nothing went to the local default
    blobs = _blobs(object_store)

    # The flag picks the store even though the environment says local; same flow, same values.
    by_flag = _env(FLOWASSETS_DATASTORE="local", **{sysroot_env: object_store.root})
    second, output_2 = _run(object_store, tmp_path, "second", STORE_FLOW, "--datastore", kind,
                            env=by_flag)
    assert _blobs(object_store) == blobs, "an unchanged flow uploaded new blobs on its second run"
    assert any(f"/runs/{second}/end/manifest.json" in n for n in object_store.object_names())

    # A new process with no datastore settings at all (and the default local store empty)
    # finds each run's store from the run itself; only the server's credentials are set.
    read = _client(
        "import json; from flowassets.client import Flow; f = Flow('StoreFlow'); "
        f"runs = [f['{first}'], f['{second}']]; "
        "print(json.dumps([[r.dagster_tags['flowassets/datastore'], r.data.total, r.data.rows, "
        "r.data.table['label'].tolist(), sorted(t.data.squared[-1] for t in r['square'])] "
        "for r in runs]))", tmp_path, _env())
    expected = [f"{kind}:{object_store.root}", 45, 3, ["a", "b", "c"], [0, 1, 2]]
    assert read == [expected, expected]

    for run_id, shown in ((first, output_1), (second, output_2)):
        recorded = _recorded_text(run_id) + shown
        assert object_store.root in recorded  # the check below looks at real content
        assert not [s for s in SECRETS if s in recorded], f"a credential leaked in run {run_id}"


@pytest.mark.parametrize("object_store", ["s3", "azure"], indirect=True)  # gs: no secret to leak
def test_failing_store_fails_the_run_without_leaking_credentials(object_store, tmp_path):
    missing = object_store.root.replace(object_store.name, object_store.name + "-absent")
    env = _env(FLOWASSETS_DATASTORE=object_store.kind,
               **{select.SYSROOT_ENV[object_store.kind]: missing})
    done = _cli(STORE_FLOW, "--run-id-file", "rid", cwd=tmp_path, env=env)
    assert done.returncode == 1
    run_id = (tmp_path / "rid").read_text().strip()
    assert "Step 'start' failed" in done.stderr and object_store.name + "-absent" in done.stderr
    assert "Traceback" not in done.stderr.split("Step 'start' failed")[1].splitlines()[1]
    recorded = _recorded_text(run_id) + done.stdout + done.stderr
    assert not [s for s in SECRETS if s in recorded]


@pytest.mark.parametrize("object_store", ["s3"], indirect=True)  # the resource path; kinds above
def test_build_definitions_resource_chooses_the_store(object_store, monkeypatch):
    monkeypatch.setenv("FLOWASSETS_DATASTORE", "local")  # the resource must win over this
    flow = load_flow(FLOWS / "store_flow.py", "StoreFlow")
    store = ArtifactStoreResource(datastore=object_store.kind, sysroot=object_store.root)
    defs = build_definitions([flow], flowassets_store=store)
    result = defs.resolve_job_def("StoreFlow").execute_in_process(instance=dg.DagsterInstance.get())
    assert result.success
    names = object_store.object_names()
    assert any(n.endswith(f"/runs/{result.run_id}/end/manifest.json") for n in names)
    assert all(n.startswith(f"{object_store.prefix}/StoreFlow/") for n in names)

    from flowassets.client import Flow

    run = Flow("StoreFlow")[result.run_id]
    assert run.dagster_tags["flowassets/datastore"] == f"{object_store.kind}:{object_store.root}"
    assert (run.data.total, run.data.rows) == (45, 3)


@pytest.mark.parametrize("object_store", ["s3"], indirect=True)
def test_concurrent_runs_of_one_flow_never_see_each_others_artifacts(object_store, tmp_path):
    env = _env(FLOWASSETS_DATASTORE="s3", FLOWASSETS_DATASTORE_SYSROOT_S3=object_store.root)
    flow = str(FLOWS / "concurrent_flow.py")
    procs = {who: subprocess.Popen(
        [sys.executable, "-m", "flowassets.cli.main", "run", flow, "--who", who, "--quiet",
         "--run-id-file", f"{who}.rid"], cwd=tmp_path, env=env, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True) for who in ("a", "b")}
    for who, proc in procs.items():
        out, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, f"run {who}: {err[-3000:]}"
    ids = {who: (tmp_path / f"{who}.rid").read_text().strip() for who in procs}
    read = _client(
        "import json; from flowassets.client import Flow; f = Flow('ConcurrentFlow'); "
        f"ids = {json.dumps(ids)}; "
        "print(json.dumps({w: [f[r].data.seen, f[r]['start'].task['mine'].sha, "
        "f[r]['start'].task['shared'].sha] for w, r in ids.items()}))", tmp_path, _env())
    assert read["a"][0] == "a" and read["b"][0] == "b"
    assert read["a"][1] != read["b"][1]  # each run's own value, under its own hash
    assert read["a"][2] == read["b"][2]  # the identical value: one blob for both
    assert len([n for n in _blobs(object_store) if n.endswith(read["a"][2])]) == 1
