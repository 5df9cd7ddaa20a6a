"""An artifact over 2 GiB through S3 multipart and back, with memory bounded on both ways.

The one slow storage test (about a minute on 2 cores; ~7 GiB of temporary disk): it runs in
the default suite because 2 GiB is where 32-bit sizes, single-part limits and "read it all into
bytes" shortcuts break. Each phase runs in a forked child so its peak RSS is its own; the
figures are checked against the value's size, never against time.
"""

from __future__ import annotations

import json
import os

import pytest

from flowassets.storage import select
from flowassets.storage.artifacts import ArtifactStore
from flowassets.storage.manifest import ArtifactRef

VALUE_BYTES = (2 << 30) + (64 << 20)  # 2.06 GiB
MIB = 1 << 20


def _marks() -> bytes:
    """One byte per MiB, cycling 0..255: a value that is not all zeros, so parts put back in
    the wrong order would show."""
    return bytes(i % 256 for i in range(len(range(0, VALUE_BYTES, MIB))))


def _value() -> bytearray:
    value = bytearray(VALUE_BYTES)
    value[::MIB] = _marks()
    return value


def _rss_mib() -> int:
    with open("/proc/self/status") as handle:
        return next(int(line.split()[1]) for line in handle if line.startswith("VmRSS:")) // 1024


def _in_child(fn) -> int:
    """Run fn in a forked child; its peak RSS in MiB (exit code says if fn passed)."""
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            fn()
            code = 0
        finally:
            os._exit(code)
    _, status, usage = os.wait4(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0, "the child phase failed; see its output above"
    return usage.ru_maxrss // 1024


@pytest.mark.parametrize("object_store", ["s3"], indirect=True)
def test_artifact_over_2_gib_round_trips_with_bounded_memory(object_store, tmp_path):
    ref_file = tmp_path / "ref.json"

    def store() -> ArtifactStore:
        return ArtifactStore(select.open_backend("s3", object_store.root), "Big")

    def save() -> None:
        ref = store().save(_value())
        ref_file.write_text(json.dumps([ref.sha, ref.encoding, ref.size, ref.type]))

    def load() -> None:
        ref = ArtifactRef(*json.loads(ref_file.read_text()))
        loaded = store().load(ref, "big")  # the store checks size and sha256 of every byte
        assert len(loaded) == VALUE_BYTES and loaded[::MIB] == _marks()

    base = _rss_mib()
    value_mib = VALUE_BYTES // MIB
    save_rss = _in_child(save)
    sha, encoding, size, _ = json.loads(ref_file.read_text())
    assert size > VALUE_BYTES and encoding == "pickle"
    key = f"{object_store.prefix}/Big/data/{sha[:2]}/{sha}"
    assert object_store.object_names() == [key]
    from tests.support.servers import s3_client

    head = s3_client(object_store.server).head_object(Bucket=object_store.name, Key=key)
    assert head["ContentLength"] == size and "-" in head["ETag"]  # uploaded in parts
    # The value once, plus transfer buffers: never the value and its bytes together.
    assert save_rss < base + value_mib + 512, (base, value_mib, save_rss)
    load_rss = _in_child(load)
    # The loaded value once, plus download buffers.
    assert load_rss < base + value_mib + 512, (base, value_mib, load_rss)
