"""Artifact upload/download throughput on a real S3 server, as a ratio to raw boto3 multipart.

    python benchmarks/store_throughput.py                 # 1 GiB file, 3 repeats, SeaweedFS
    python benchmarks/store_throughput.py --mib 64 --repeat 1 --output /tmp/t.json

Starts the SeaweedFS server the storage tests use (tests/support/servers.py) on 127.0.0.1,
writes one file of random bytes, and moves it through the server four ways, each phase in a
forked child so its peak RSS is its own (``wait4``):

- ``boto3``: ``upload_file`` / ``download_file`` with boto3's default TransferConfig (the
  yardstick: what a user gets from boto3 alone);
- ``boto3 (our part size)``: the same calls with flowassets' part size and thread count;
- ``flowassets backend``: ``S3Backend.put_stream`` / ``open_read`` of the file (transport only);
- ``flowassets artifact``: ``ArtifactStore.save`` / ``load`` of the file's bytes as an artifact
  value, i.e. what a step pays: pickling into a hashing spool, the multipart upload, and on the
  way back the ranged download, the sha256 check and the unpickle.

Ratios are throughput(flowassets) / throughput(boto3): 1.0 is as fast as boto3, lower is slower.
Blobs are deleted between repeats, so content addressing never skips an upload.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Callable

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.support import servers  # noqa: E402 - the servers the storage tests use

DEFAULT_OUTPUT = ROOT / "benchmarks" / "results" / "store_throughput.json"


def run_phase(fn: Callable[[], None]) -> tuple[float, int]:
    """Run ``fn`` in a forked child: (wall seconds, the child's peak RSS in MiB)."""
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
        raise SystemExit(f"phase {getattr(fn, '__name__', fn)} failed")
    return time.monotonic() - start, usage.ru_maxrss // 1024


def _write_random_file(path: Path, mib: int) -> None:
    chunk = 8 << 20
    with open(path, "wb") as handle:
        left = mib << 20
        while left:
            n = min(chunk, left)
            handle.write(os.urandom(n))
            left -= n


class Ways:
    """The four ways of moving the file, as upload/download callables run in children."""

    def __init__(self, bucket: servers.Bucket, path: Path, workdir: Path):
        self.bucket, self.path, self.workdir = bucket, path, workdir
        self.ref_file = workdir / "ref.json"

    def _client(self):
        import boto3

        return boto3.session.Session().client("s3")

    def _boto3_config(self, ours: bool):
        from boto3.s3.transfer import TransferConfig

        from flowassets.storage.retry import TransferSizes

        if not ours:
            return TransferConfig()
        sizes = TransferSizes.from_env()
        return TransferConfig(multipart_threshold=sizes.part_bytes, multipart_chunksize=sizes.part_bytes,
                              max_concurrency=sizes.threads)

    def boto3(self, ours: bool) -> tuple[Callable[[], None], Callable[[], None], Callable[[], None]]:
        key = f"raw/{'ours' if ours else 'default'}/file"
        target = self.workdir / "boto3.out"

        def upload() -> None:
            self._client().upload_file(str(self.path), self.bucket.name, key, Config=self._boto3_config(ours))

        def download() -> None:
            self._client().download_file(self.bucket.name, key, str(target), Config=self._boto3_config(ours))
            if os.path.getsize(target) != os.path.getsize(self.path):
                raise SystemExit("boto3 download is short")
            os.unlink(target)

        def clean() -> None:
            self._client().delete_object(Bucket=self.bucket.name, Key=key)

        return upload, download, clean

    def backend(self) -> tuple[Callable[[], None], Callable[[], None], Callable[[], None]]:
        key = "Bench/raw/file"

        def _backend():
            from flowassets.storage import select

            return select.open_backend("s3", self.bucket.root)

        def upload() -> None:
            with open(self.path, "rb") as handle:
                _backend().put_stream(key, handle, os.path.getsize(self.path))

        def download() -> None:
            with _backend().open_read(key) as handle:
                handle.seek(0, os.SEEK_END)
                if handle.tell() != os.path.getsize(self.path):
                    raise SystemExit("backend download is short")

        def clean() -> None:
            self._client().delete_object(Bucket=self.bucket.name, Key=f"{self.bucket.prefix}/{key}")

        return upload, download, clean

    def artifact(self) -> tuple[Callable[[], None], Callable[[], None], Callable[[], None]]:
        def _store():
            from flowassets.storage import select
            from flowassets.storage.artifacts import ArtifactStore

            return ArtifactStore(select.open_backend("s3", self.bucket.root), "Bench")

        def upload() -> None:
            value = self.path.read_bytes()  # the value a step made; reading it is not timed apart
            ref = _store().save(value)
            self.ref_file.write_text(json.dumps([ref.sha, ref.encoding, ref.size, ref.type]))

        def download() -> None:
            from flowassets.storage.manifest import ArtifactRef

            ref = ArtifactRef(*json.loads(self.ref_file.read_text()))
            value = _store().load(ref, "file")
            if len(value) != os.path.getsize(self.path):
                raise SystemExit("artifact load is short")

        def clean() -> None:
            sha = json.loads(self.ref_file.read_text())[0]
            store = _store()
            self._client().delete_object(Bucket=self.bucket.name,
                                         Key=f"{self.bucket.prefix}/{store.blob_key(sha)}")

        return upload, download, clean


def measure(ways: Ways, repeat: int, mib: int) -> dict[str, Any]:
    cases = {"boto3": ways.boto3(ours=False), "boto3 (our part size)": ways.boto3(ours=True),
             "flowassets backend": ways.backend(), "flowassets artifact": ways.artifact()}
    figures: dict[str, dict[str, list[float]]] = {
        name: {"upload_s": [], "download_s": [], "upload_rss_mib": [], "download_rss_mib": []}
        for name in cases}
    for _ in range(repeat):  # interleaved, so a busy moment on the host hits every way alike
        for name, (upload, download, clean) in cases.items():
            up_s, up_rss = run_phase(upload)
            down_s, down_rss = run_phase(download)
            run_phase(clean)
            f = figures[name]
            f["upload_s"].append(up_s)
            f["download_s"].append(down_s)
            f["upload_rss_mib"].append(up_rss)
            f["download_rss_mib"].append(down_rss)
    results: dict[str, Any] = {}
    for name, f in figures.items():
        up, down = statistics.median(f["upload_s"]), statistics.median(f["download_s"])
        results[name] = {"upload_s": round(up, 3), "download_s": round(down, 3),
                         "upload_mib_s": round(mib / up, 1), "download_mib_s": round(mib / down, 1),
                         "upload_peak_rss_mib": max(f["upload_rss_mib"]),
                         "download_peak_rss_mib": max(f["download_rss_mib"]),
                         "upload_runs_s": [round(x, 3) for x in f["upload_s"]],
                         "download_runs_s": [round(x, 3) for x in f["download_s"]]}
    base = results["boto3"]
    for name, r in results.items():
        r["upload_ratio"] = round(r["upload_mib_s"] / base["upload_mib_s"], 3)
        r["download_ratio"] = round(r["download_mib_s"] / base["download_mib_s"], 3)
    return results


def print_table(results: dict[str, Any], mib: int, out=sys.stdout) -> None:
    header = ("way", "up MiB/s", "up ratio", "up RSS MiB", "down MiB/s", "down ratio", "down RSS MiB")
    rows = [header] + [(name, f"{r['upload_mib_s']:.0f}", f"{r['upload_ratio']:.2f}",
                        str(r["upload_peak_rss_mib"]), f"{r['download_mib_s']:.0f}",
                        f"{r['download_ratio']:.2f}", str(r["download_peak_rss_mib"]))
                       for name, r in results.items()]
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    print(f"{mib} MiB file on SeaweedFS (127.0.0.1); ratio = throughput / boto3's", file=out)
    for i, row in enumerate(rows):
        print(" | ".join(c.ljust(w) if j == 0 else c.rjust(w) for j, (c, w) in enumerate(zip(row, widths))),
              file=out)
        if i == 0:
            print("-+-".join("-" * w for w in widths), file=out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mib", type=int, default=1024, help="file size in MiB (default 1024)")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT)
    args = parser.parse_args(argv)
    workdir = Path(tempfile.mkdtemp(prefix="flowassets-throughput-"))
    server = servers.s3_server(workdir / "server")
    server.start()
    try:
        os.environ.update(server.env)
        bucket = servers.create_bucket("s3", server)
        path = workdir / "file.bin"
        _write_random_file(path, args.mib)
        # Imported once here, so each forked phase times the transfer, not the imports.
        import boto3  # noqa: F401
        import flowassets.storage.artifacts  # noqa: F401
        import flowassets.storage.s3  # noqa: F401

        results = measure(Ways(bucket, path, workdir), max(1, args.repeat), args.mib)
    finally:
        server.stop()
        import shutil

        shutil.rmtree(workdir, ignore_errors=True)
    report = {"mib": args.mib, "repeat": args.repeat, "server": "seaweedfs", "cpus": os.cpu_count(),
              "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), "ways": results}
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(report, indent=2))
    print_table(results, args.mib)
    print(f"\nwrote {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
