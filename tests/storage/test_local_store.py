"""The local store's fast paths: large values spooled in the store's own folder and renamed into
place (written once), and a loaded value that did not change keeping its ref without a write."""

from __future__ import annotations

import hashlib
import os
import pickle
from pathlib import Path

from flowassets import flow_to_job
from flowassets.storage import artifacts, select
from flowassets.storage.artifacts import ArtifactStore
from tests.conftest import load_flow

FLOWS = Path(__file__).resolve().parent / "flows"


def _files(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())


def test_large_value_is_renamed_into_place_and_no_spool_file_is_left(tmp_path, monkeypatch):
    monkeypatch.setattr(artifacts, "SPOOL_BYTES", 1 << 16)
    root = tmp_path / "local-store"
    store = ArtifactStore(select.open_backend("local", str(root)), "F")
    value = {"blob": os.urandom(1 << 20)}
    ref = store.save(value)
    assert ref.sha == hashlib.sha256(pickle.dumps(value, protocol=5)).hexdigest()
    assert _files(root) == [f"F/data/{ref.sha[:2]}/{ref.sha}"]
    assert store.load(ref) == value
    again = ArtifactStore(select.open_backend("local", str(root)), "F")
    assert again.save(value) == ref and again.blobs_written == 0
    assert _files(root) == [f"F/data/{ref.sha[:2]}/{ref.sha}"]  # the second spool was removed


def test_unchanged_loaded_value_keeps_its_ref_and_a_changed_one_is_stored(tmp_path, monkeypatch):
    monkeypatch.setattr(artifacts, "SPOOL_BYTES", 1 << 16)
    root = tmp_path / "local-store"
    store = ArtifactStore(select.open_backend("local", str(root)), "F")
    ref = store.save(list(range(50_000)))
    loaded = store.load(ref)
    before = _files(root)
    assert store.save(loaded, unchanged=ref) == ref
    assert store.blobs_written == 1 and _files(root) == before
    loaded.append(-1)
    changed = store.save(loaded, unchanged=ref)
    assert changed.sha != ref.sha and store.blobs_written == 2
    assert store.load(changed)[-1] == -1


def test_flow_step_that_mutates_in_place_stores_a_new_value_and_keeps_read_ones():
    flow = load_flow(FLOWS / "mutate_flow.py", "MutateFlow")
    result = flow_to_job(flow).execute_in_process()
    assert result.success
    store = ArtifactStore(select.open_backend(), "MutateFlow")
    (start,) = store.load_step(result.run_id, "start").tasks
    (change,) = store.load_step(result.run_id, "change").tasks
    assert store.load(change.artifacts["items"]) == [1, 2, 3, 4]
    assert change.artifacts["items"].sha != start.artifacts["items"].sha
    assert change.artifacts["table"] == start.artifacts["table"]
    assert store.load(change.artifacts["seen"]) == 2000
