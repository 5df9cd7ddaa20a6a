"""Save and load one >2 GiB artifact through an object store and report peak RSS of each phase.

Not part of the test suite (minutes, ~3x the value size of disk). Starts the same real server
the storage tests use on 127.0.0.1, then forks one child per phase and reads the child's own
peak RSS (``wait4``), so each figure is that phase alone:

    python benchmarks/large_artifact_store.py --kind s3 --gib 2.2

What to expect: save ~= the value (pickled straight into a hashing temp-file spool, then a
multipart upload of 16 MiB parts x 4 threads); load ~= the value (parts downloaded to a temp file, hashed in chunks, unpickled from it).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.support import servers  # noqa: E402 - the servers the storage tests use


def _make_value(gib: float):
    import numpy as np

    value = np.empty(int(gib * (1 << 30)) // 8, dtype=np.float64)
    value[:] = 1.5
    value[::4096] = np.arange(len(value[::4096]))  # not one repeated byte
    return value


def _phase(fn) -> tuple[float, int]:
    """Run fn in a forked child; (seconds, child's peak RSS in MiB)."""
    start = time.monotonic()
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            fn()
            code = 0
        finally:
            os._exit(code)
    _, status, usage = os.wait4(pid, 0)
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"phase {fn.__name__} failed")
    return time.monotonic() - start, usage.ru_maxrss // 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kind", choices=servers.KINDS, default="s3")
    parser.add_argument("--gib", type=float, default=2.2)
    args = parser.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="flowassets-bench-"))
    factory = {"s3": servers.s3_server, "gs": servers.gcs_server, "azure": servers.azure_server}[args.kind]
    server = factory(workdir)
    server.start()
    try:
        os.environ.update(server.env)
        bucket = servers.create_bucket(args.kind, server)
        ref_file = workdir / "ref"

        def save() -> None:
            from flowassets.storage import select
            from flowassets.storage.artifacts import ArtifactStore

            value = _make_value(args.gib)
            store = ArtifactStore(select.open_backend(args.kind, bucket.root), "Bench")
            ref = store.save(value)
            ref_file.write_text(f"{ref.sha} {ref.encoding} {ref.size} {ref.type}")

        def load() -> None:
            from flowassets.storage import select
            from flowassets.storage.artifacts import ArtifactStore
            from flowassets.storage.manifest import ArtifactRef

            sha, encoding, size, kind = ref_file.read_text().split()
            store = ArtifactStore(select.open_backend(args.kind, bucket.root), "Bench")
            value = store.load(ArtifactRef(sha, encoding, int(size), kind), "big")
            assert value.nbytes >= int(args.gib * (1 << 30)) - 8 and value[4096] == 1.0

        def baseline() -> None:
            _make_value(args.gib)

        base_s, base_mib = _phase(baseline)
        save_s, save_mib = _phase(save)
        load_s, load_mib = _phase(load)
        size = int(ref_file.read_text().split()[2])
        print(f"{args.kind}: artifact {size / (1 << 30):.2f} GiB ({size} bytes)")
        print(f"  building the value alone: peak RSS {base_mib} MiB ({base_s:.1f} s)")
        print(f"  save (spool + multipart upload): peak RSS {save_mib} MiB ({save_s:.1f} s)")
        print(f"  load (download + hash + unpickle): peak RSS {load_mib} MiB ({load_s:.1f} s)")
    finally:
        server.stop()


if __name__ == "__main__":
    main()
