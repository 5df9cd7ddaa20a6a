"""The same store behaviours against SeaweedFS (S3), fake-gcs-server (GCS) and Azurite (Azure).

Every test gets a fresh bucket (``object_store``) and checks the server's own view of it with
a separate SDK client, never the backend under test.
"""

from __future__ import annotations

import hashlib
import io
import logging
import os
import pickle
import threading

import pandas as pd
import pytest

from flowassets.errors import ArtifactError, ArtifactNotFound, StorageError
from flowassets.storage import select
from flowassets.storage.artifacts import ArtifactStore
from tests.support.servers import AZURITE_KEY, S3_SECRET_KEY, azure_service, gcs_client, s3_client

SECRETS = (S3_SECRET_KEY, AZURITE_KEY, "AccountKey=")


def _store(bucket, flow: str = "StoreTest") -> ArtifactStore:
    return ArtifactStore(select.open_backend(bucket.kind, bucket.root), flow)


def test_values_round_trip_and_live_under_the_prefix(object_store):
    store = _store(object_store)
    values = [{"a": [1, 2.5, None]}, b"\x00bytes", "text", list(range(1000)), (1, frozenset({2}))]
    refs = [store.save(v) for v in values]
    assert [store.load(r) for r in refs] == values
    names = object_store.object_names()
    assert len(names) == len(values)
    assert all(n.startswith(object_store.prefix + "/StoreTest/data/") for n in names)


def test_dataframe_is_parquet_readable_by_pandas_from_the_raw_blob(object_store):
    store = _store(object_store)
    frame = pd.DataFrame({"x": [1, 2, 3], "name": ["a", "b", "c"]}, index=[10, 20, 30])
    ref = store.save(frame)
    assert ref.encoding == "parquet-pandas"
    raw = object_store.read(f"{object_store.prefix}/{store.blob_key(ref.sha)}")
    pd.testing.assert_frame_equal(pd.read_parquet(io.BytesIO(raw)), frame)
    pd.testing.assert_frame_equal(store.load(ref), frame)


def test_saving_the_same_value_twice_uploads_one_blob(object_store):
    first, second = _store(object_store), _store(object_store)
    ref_a = first.save({"same": list(range(100))})
    ref_b = second.save({"same": list(range(100))})
    assert ref_a == ref_b
    assert (first.blobs_written, second.blobs_written) == (1, 0)
    assert len(object_store.object_names()) == 1


def test_corrupted_blob_fails_load_naming_artifact_and_key(object_store):
    store = _store(object_store)
    ref = store.save({"weights": list(range(50))})
    key = store.blob_key(ref.sha)
    object_store.write(f"{object_store.prefix}/{key}", b"not what was stored")
    with pytest.raises(ArtifactError) as info:
        store.load(ref, "model")
    assert "'model'" in str(info.value) and key in str(info.value)


def test_missing_blob_is_artifact_not_found(object_store):
    backend = select.open_backend(object_store.kind, object_store.root)
    with pytest.raises(ArtifactNotFound) as info:
        backend.get_bytes("StoreTest/data/00/missing")
    assert "StoreTest/data/00/missing" in str(info.value) and backend.url in str(info.value)
    assert backend.exists("StoreTest/data/00/missing") is False


@pytest.mark.parametrize("flow, run_id, step, task", [
    ("../Escape", "r1", "start", "1"),
    ("Flow/../../Escape", "r1", "start", "1"),
    ("Flow", "..", "start", "1"),
    ("Flow", "r1", "../../../etc", "1"),
    ("Flow", "r1", "start", "/abs"),
    ("Flow", "r1", "start", "t\\..\\x"),
    ("Flow", "r1", "ｓtart", "1"),  # fullwidth letter: changes under NFKC normalisation
])
def test_path_escape_attempts_fail_and_write_nothing(object_store, flow, run_id, step, task):
    backend = select.open_backend(object_store.kind, object_store.root)
    with pytest.raises(StorageError):
        store = ArtifactStore(backend, flow)
        store.save_log(run_id, step, task, 0, b"log")
    with pytest.raises(StorageError):
        backend.put_bytes(f"{flow}/{run_id}/{step}/{task}", b"x")
    assert object_store.object_names() == []


def test_root_prefix_cannot_escape_or_carry_credentials(object_store):
    base = object_store.root.rsplit("/", 1)[0]
    with pytest.raises(StorageError):
        select.open_backend(object_store.kind, base + "/../other")
    with pytest.raises(StorageError) as info:
        select.open_backend(object_store.kind, base + "/flows?sig=" + S3_SECRET_KEY)
    assert S3_SECRET_KEY not in str(info.value)


def test_missing_bucket_fails_with_key_and_url_and_is_not_created(object_store, caplog):
    root = object_store.root.replace(object_store.name, object_store.name + "-absent")
    backend = select.open_backend(object_store.kind, root)
    caplog.set_level(logging.DEBUG)
    with pytest.raises(StorageError) as info:
        backend.put_bytes("StoreTest/data/ab/abc", b"payload")
    message = str(info.value)
    assert "StoreTest/data/ab/abc" in message and backend.url in message
    assert not isinstance(info.value, KeyError)
    # Neither the message, the cause chain nor anything the SDKs logged shows a credential.
    assert info.value.__cause__ is None and info.value.__suppress_context__  # SDK text is dropped
    shown = message + backend.describe() + caplog.text
    assert not any(secret in shown for secret in SECRETS)
    assert object_store.name + "-absent" not in _bucket_names(object_store)


def test_transient_outage_is_retried_until_the_server_returns(object_store, monkeypatch):
    monkeypatch.setenv("FLOWASSETS_STORAGE_MAX_ATTEMPTS", "10")
    monkeypatch.setenv("FLOWASSETS_STORAGE_RETRY_SECONDS", "60")
    backend = select.open_backend(object_store.kind, object_store.root)
    backend.put_bytes("StoreTest/before", b"1")  # a client with open connections exists
    server = object_store.server
    server.kill()
    restarter = threading.Timer(1.0, server.start)
    restarter.start()
    try:
        backend.put_bytes("StoreTest/during", b"2")
    finally:
        restarter.join()
    assert object_store.read(f"{object_store.prefix}/StoreTest/during") == b"2"


def test_outage_beyond_the_retry_bound_is_a_storage_error(object_store):
    backend = select.open_backend(object_store.kind, object_store.root)
    backend.put_bytes("StoreTest/before", b"1")
    object_store.server.kill()
    try:
        with pytest.raises(StorageError) as info:
            backend.get_bytes("StoreTest/before")
        assert "StoreTest/before" in str(info.value) and backend.url in str(info.value)
        assert not any(secret in str(info.value) for secret in SECRETS)
    finally:
        object_store.server.start()
    assert backend.get_bytes("StoreTest/before") == b"1"  # the same backend recovers


def test_backend_works_in_a_forked_child(object_store):
    backend = select.open_backend(object_store.kind, object_store.root)
    backend.put_bytes("StoreTest/parent", b"p")  # the parent's client now holds connections
    pid = os.fork()
    if pid == 0:  # child: write with the inherited backend object, report by exit code
        code = 1
        try:
            backend.put_bytes("StoreTest/child", b"c")
            code = 0 if backend.get_bytes("StoreTest/parent") == b"p" else 2
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert backend.get_bytes("StoreTest/child") == b"c"


def test_large_value_streams_through_multipart(object_store, monkeypatch):
    monkeypatch.setenv("FLOWASSETS_STORAGE_PART_MB", "5")
    backend = select.open_backend(object_store.kind, object_store.root)
    payload = os.urandom(1 << 20) * 12  # 12 MiB: three parts of 5 MiB
    backend.put_stream("StoreTest/big", io.BytesIO(payload), len(payload))
    with backend.open_read("StoreTest/big") as handle:
        assert handle.read() == payload
    assert object_store.read(f"{object_store.prefix}/StoreTest/big") == payload


def test_list_returns_keys_relative_to_the_root(object_store):
    backend = select.open_backend(object_store.kind, object_store.root)
    for key in ("F/runs/1/a/manifest.json", "F/runs/1/b/manifest.json", "F/runs/10/a/manifest.json"):
        backend.put_bytes(key, b"{}")
    assert sorted(backend.list("F/runs/1")) == ["F/runs/1/a/manifest.json", "F/runs/1/b/manifest.json"]
    assert len(list(backend.list(""))) == 3


def _bucket_names(bucket) -> list[str]:
    if bucket.kind == "s3":
        return [b["Name"] for b in s3_client(bucket.server).list_buckets()["Buckets"]]
    if bucket.kind == "gs":
        return [b.name for b in gcs_client(bucket.server).list_buckets()]
    return [c.name for c in azure_service(bucket.server).list_containers()]


def test_large_artifact_is_spooled_and_uploaded_in_parts(object_store, monkeypatch):
    from flowassets.storage import artifacts

    monkeypatch.setattr(artifacts, "SPOOL_BYTES", 1 << 20)
    monkeypatch.setenv("FLOWASSETS_STORAGE_PART_MB", "5")
    store = _store(object_store)
    value = {"blob": os.urandom(12 << 20), "n": 7}
    ref = store.save(value)
    assert ref.size > 12 << 20
    assert ref.sha == hashlib.sha256(pickle.dumps(value, protocol=5)).hexdigest()
    name = f"{object_store.prefix}/{store.blob_key(ref.sha)}"
    if object_store.kind == "s3":  # a multipart upload's ETag ends in -<number of parts>
        etag = s3_client(object_store.server).head_object(Bucket=object_store.name, Key=name)["ETag"]
        assert etag.strip('"').endswith("-3")
    elif object_store.kind == "azure":  # staged blocks, committed together
        blob = azure_service(object_store.server).get_blob_client(object_store.name, name)
        assert len(blob.get_block_list("committed")[0]) == 3
    assert store.load(ref) == value
    store.backend.put_bytes(store.blob_key(ref.sha), b"x" * ref.size)  # same size, wrong bytes
    with pytest.raises(ArtifactError) as info:
        store.load(ref, "weights")
    assert "'weights'" in str(info.value) and store.blob_key(ref.sha) in str(info.value)
