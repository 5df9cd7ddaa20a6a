"""Chaos: the local artifact store's disk fills up in the middle of an artifact write.

An 8 MB tmpfs is the store; a foreach task of ``FullDiskFlow`` writes an artifact bigger than
the whole disk, so its write fails with ENOSPC part-way. The run must fail cleanly: exit code 1,
a short error that names the flow, the step and the lack of space, nothing partial left in the
store, every manifest readable, the Dagster run FAILURE. Once the tmpfs is made bigger,
``flowassets resume`` finishes the run, and its end artifacts equal those of an uninterrupted
run in a store of its own.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.chaos.tmpfs import Tmpfs

FLOW = Path(__file__).resolve().parent / "flows" / "full_disk_flow.py"
FLOW_NAME = "FullDiskFlow"

#: The client's view of a run's end artifacts: bytes by size and hash, everything else by repr.
READ_END = """
import hashlib, json, sys
from flowassets.client import Flow
run = Flow(sys.argv[1])[sys.argv[2]]
def canon(value):
    if isinstance(value, (bytes, bytearray)):
        return {"bytes": len(value), "sha256": hashlib.sha256(value).hexdigest()}
    return repr(value)
print(json.dumps([run.successful, {n: canon(getattr(run.data, n)) for n in dir(run.data)}]))
"""

# ~15 s on an idle 2-core machine (30-40 s at load 14): the timeout only guards against hangs.
pytestmark = pytest.mark.timeout(120)


def _assert_store_clean(view: Path, failed_run: str) -> None:
    """No temp or spool file, every blob whole (its bytes hash to its name), every JSON record
    readable, and no manifest for the step that failed."""
    temps, bad_blobs, bad_json = [], [], []
    for dirpath, _, files in os.walk(view):
        for name in files:
            path = Path(dirpath, name)
            rel = path.relative_to(view)
            if name.startswith(".tmp"):
                temps.append(f"{rel} ({path.stat().st_size} bytes)")
            elif rel.parts[1:2] == ("data",):
                if hashlib.sha256(path.read_bytes()).hexdigest() != name or rel.parts[2] != name[:2]:
                    bad_blobs.append(f"{rel} ({path.stat().st_size} bytes)")
            elif name.endswith(".json"):
                try:
                    json.loads(path.read_bytes())
                except ValueError as exc:
                    bad_json.append(f"{rel}: {exc}")
    assert not temps, f"temp files left in the store after the failed write: {temps}"
    assert not bad_blobs, f"partial or corrupted blobs in the store: {bad_blobs}"
    assert not bad_json, f"unreadable records in the store: {bad_json}"
    manifests = sorted(p.parent.name for p in (view / FLOW_NAME / "runs" / failed_run).glob("*/manifest.json"))
    assert manifests == ["start"], f"manifests of the failed run: {manifests}"


def _assert_clear_error(stderr: str, store_root: Path) -> None:
    assert "Traceback" not in stderr and "dagster/_core" not in stderr, stderr
    paragraphs = [p for p in re.split(r"\n\s*\n", stderr) if re.search(r"out of space", p, re.I)]
    assert paragraphs, f"no paragraph says the store is out of space:\n{stderr}"
    text = paragraphs[0]
    assert FLOW_NAME in text and "'write'" in text, text  # the flow and the step
    assert str(store_root) in text, text  # which store
    assert len(text) < 1500 and text.count("\n") < 8, f"not one short paragraph:\n{text}"


def _run_status(dagster_home: Path, run_id: str) -> str:
    import dagster as dg

    with dg.DagsterInstance.from_config(str(dagster_home)) as instance:
        return instance.get_run_by_id(run_id).status.value


def _read_end(fs: Tmpfs | None, run_id: str, cwd: Path, env: dict | None = None) -> list:
    args = (sys.executable, "-c", READ_END, FLOW_NAME, run_id)
    if fs is not None:
        done = fs.run(*args, cwd=cwd)
    else:
        done = subprocess.run(args, cwd=cwd, capture_output=True, text=True, timeout=60, env=env)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


class _UninterruptedRun:
    """The same flow and parameters in a separate store and Dagster home on the real disk,
    started at once so it runs while the chaos run does."""

    def __init__(self, tmp_path: Path, big_mb: int):
        self.where = tmp_path / "reference"
        (self.where / "home").mkdir(parents=True)
        self.env = {**os.environ, "FLOWASSETS_DATASTORE_SYSROOT_LOCAL": str(self.where / "store"),
                    "DAGSTER_HOME": str(self.where / "home")}
        self.process = subprocess.Popen(
            [sys.executable, "-m", "flowassets.cli.main", "run", str(FLOW), "--big_mb", str(big_mb),
             "--run-id-file", "rid.txt"], cwd=self.where, env=self.env,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    def end_artifacts(self) -> list:
        out, err = self.process.communicate(timeout=60)
        assert self.process.returncode == 0, out + err
        return _read_end(None, (self.where / "rid.txt").read_text().strip(), self.where, self.env)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.communicate()


@pytest.mark.parametrize("big_mb, room", [
    pytest.param(12, "64m", id="12MB-written-in-place"),
    # Over artifacts.SPOOL_BYTES (64 MiB): pickled into a `.tmp-spool-*` file in the store root,
    # which must be removed, and the error explained, when ENOSPC hits mid-pickle.
    pytest.param(72, "192m", id="72MB-spooled"),
])
def test_full_disk_during_artifact_write_fails_cleanly_then_resumes(
        small_tmpfs: Tmpfs, tmp_path: Path, big_mb: int, room: str):
    fs = small_tmpfs
    assert os.environ["FLOWASSETS_DATASTORE_SYSROOT_LOCAL"] == str(fs.mountpoint)
    assert fs.free_bytes() < (big_mb << 20)
    reference = _UninterruptedRun(tmp_path, big_mb)
    try:
        _fail_then_resume(fs, tmp_path, big_mb, room, reference)
    finally:
        reference.stop()


def _fail_then_resume(fs: Tmpfs, tmp_path: Path, big_mb: int, room: str,
                      reference: _UninterruptedRun) -> None:
    first = fs.flowassets("run", str(FLOW), "--big_mb", str(big_mb), "--run-id-file", "first.txt",
                          cwd=tmp_path)
    assert first.returncode == 1, first.stdout + first.stderr
    first_id = (tmp_path / "first.txt").read_text().strip()
    _assert_clear_error(first.stderr, fs.mountpoint)
    _assert_store_clean(fs.view, first_id)
    assert fs.free_bytes() > (6 << 20), "the failed write still holds the disk's space"
    assert _run_status(tmp_path / "dagster_home", first_id) == "FAILURE"

    fs.resize(room)  # make room, then finish the run
    second = fs.flowassets("resume", str(FLOW), "--origin-run-id", first_id,
                           "--run-id-file", "second.txt", cwd=tmp_path)
    assert second.returncode == 0, second.stdout + second.stderr
    second_id = (tmp_path / "second.txt").read_text().strip()
    assert second_id != first_id
    assert _run_status(tmp_path / "dagster_home", second_id) == "SUCCESS"

    resumed = _read_end(fs, second_id, tmp_path)
    assert resumed[0] is True
    small = 256 << 10
    assert resumed[1]["sizes"] == repr({0: small, 1: small, 2: big_mb << 20, 3: small})
    assert resumed[1]["big"]["bytes"] == big_mb << 20
    assert resumed == reference.end_artifacts()
