"""A content-addressed artifact store over any ``Backend``.

A value is stored once under the hash of its bytes, so an unchanged artifact is never written
twice (across tasks and runs), and a reader fetches only the blobs it asks for. Hashes are
verified on read: a corrupted or truncated blob fails loudly, naming the key.
"""

from __future__ import annotations

import hashlib
import io
import json
import mmap
import os
import pickle
import tempfile
from typing import Any, Callable, Iterator

from ..errors import ArtifactError, ArtifactNotFound
from . import serialize
from .backend import Backend, safe_key, write_error
from .manifest import ArtifactRef, StepResult, TaskRecord

#: Values whose bytes are larger than this are spooled to a temp file and streamed (multipart).
SPOOL_BYTES = 64 << 20


class ArtifactStore:
    def __init__(self, backend: Backend, flow_name: str):
        self.backend = backend
        self.flow_name = flow_name
        self._flow = safe_key(flow_name)
        self.blobs_written = 0  # for tests and op metadata: how many new blobs this process wrote

    @property
    def url(self) -> str:
        return self.backend.url

    # -- blobs ---------------------------------------------------------------------------
    def blob_key(self, sha: str) -> str:
        return safe_key(self._flow, "data", sha[:2], sha)

    def save(self, value: Any, unchanged: ArtifactRef | None = None) -> ArtifactRef:
        """Store ``value`` once under its hash. ``unchanged``: the ref a loaded value came from.
        A loaded value may have been mutated in place, so it must be hashed again; hashing it
        without writing its bytes anywhere tells, and an unchanged one (the usual case: a step
        that only reads a 1 GiB array) then costs no temp file and no upload check."""
        if unchanged is not None and _same_pickle(value, unchanged):
            return unchanged
        spool_dir = self.backend.spool_dir()
        try:
            encoding, spool = _serialize(value, spool_dir)
        except OSError as exc:  # the spool file in the store's folder could not be written
            if spool_dir is None:
                raise
            raise write_error(self.url, f"a value of over {SPOOL_BYTES >> 20} MB", exc, None,
                              spool_dir) from exc
        with spool:
            sha = spool.sha.hexdigest()
            key = self.blob_key(sha)
            if not self.backend.exists(key):
                spool.upload(self.backend, key)
                self.blobs_written += 1
        return ArtifactRef(sha, encoding, spool.size, _type_name(value))

    def load(self, ref: ArtifactRef, name: str = "?") -> Any:
        key = self.blob_key(ref.sha)
        path = self.backend.local_path(key)
        if path is not None:
            data = _map_file(path, key, name)
        elif ref.size > SPOOL_BYTES and ref.encoding == serialize.PICKLE:
            return self._load_streamed(ref, key, name)
        else:
            data = self.backend.get_bytes(key)
        if len(data) != ref.size or hashlib.sha256(data).hexdigest() != ref.sha:
            raise _corrupted(ref, key, name, len(data))
        try:
            return serialize.decode(data, ref.encoding)
        except Exception as exc:  # noqa: BLE001
            raise ArtifactError(f"artifact {name!r} (blob {key}) could not be decoded: {exc}") from exc

    def _load_streamed(self, ref: ArtifactRef, key: str, name: str) -> Any:
        """A large remote blob: downloaded in parts to a temp file, hashed in chunks, unpickled
        from the file, so memory holds the value once (not its bytes as well)."""
        with self.backend.open_read(key) as handle:
            sha, size = hashlib.sha256(), 0
            for chunk in iter(lambda: handle.read(8 << 20), b""):
                sha.update(chunk)
                size += len(chunk)
            if size != ref.size or sha.hexdigest() != ref.sha:
                raise _corrupted(ref, key, name, size)
            handle.seek(0)
            try:
                return pickle.load(handle)
            except Exception as exc:  # noqa: BLE001
                raise ArtifactError(f"artifact {name!r} (blob {key}) could not be decoded: {exc}") from exc

    # -- manifests -----------------------------------------------------------------------
    def manifest_key(self, run_id: str, step: str) -> str:
        return safe_key(self._flow, "runs", run_id, step, "manifest.json")

    def save_step(self, result: StepResult) -> None:
        self.backend.put_bytes(self.manifest_key(result.run_id, result.step), result.to_bytes())

    def load_step(self, run_id: str, step: str) -> StepResult:
        key = self.manifest_key(run_id, step)
        try:
            return StepResult.from_bytes(self.backend.get_bytes(key))
        except ArtifactNotFound:
            raise ArtifactNotFound(
                f"flow {self.flow_name}: run {run_id} has no record of step {step!r} in {self.url}"
            ) from None

    def has_step(self, run_id: str, step: str) -> bool:
        return self.backend.exists(self.manifest_key(run_id, step))

    def steps_of_run(self, run_id: str) -> list[str]:
        prefix = safe_key(self._flow, "runs", run_id)
        return sorted({k.split("/")[-2] for k in self.backend.list(prefix) if k.endswith("manifest.json")})

    # -- finished tasks ------------------------------------------------------------------
    # Each task's record is kept the moment it finishes, not only with its step's manifest, so
    # a step that failed, or whose driver died, still tells a resume which of its tasks
    # succeeded (Metaflow keeps a task's metadata per task for the same reason).
    def task_key(self, run_id: str, step: str, task_id: str) -> str:
        return safe_key(self._flow, "runs", run_id, step, "tasks", f"{task_id}.json")

    def save_task(self, run_id: str, record: TaskRecord) -> None:
        data = json.dumps(record.to_json(), separators=(",", ":")).encode()
        self.backend.put_bytes(self.task_key(run_id, record.step, record.task_id), data)

    def save_tasks(self, run_id: str, records: list[TaskRecord]) -> None:
        self._each(lambda record: self.save_task(run_id, record), records)

    def finished_tasks(self, run_id: str, step: str) -> dict[str, TaskRecord]:
        """The tasks of ``step`` that finished in ``run_id``, by task id (a record that cannot
        be read, half-written by a dying process, counts as not finished)."""
        prefix = safe_key(self._flow, "runs", run_id, step, "tasks")
        keys = [k for k in self.backend.list(prefix) if k.endswith(".json")]

        def read(key: str) -> TaskRecord | None:
            try:
                return TaskRecord.from_json(json.loads(self.backend.get_bytes(key)))
            except (ValueError, TypeError, KeyError, ArtifactNotFound):
                return None

        return {r.task_id: r for r in self._each(read, keys) if r is not None}

    def _each(self, fn: Callable[[Any], Any], items: list[Any]) -> list[Any]:
        """``fn`` over ``items``; side by side on an object store, where each is a request (a
        1,000-task step resumes in seconds, not one round trip after another)."""
        if not items or self.backend.local_path(self.blob_key("0" * 64)) is not None:
            return [fn(item) for item in items]
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(16) as pool:
            return list(pool.map(fn, items))

    # -- logs ----------------------------------------------------------------------------
    #: A task attempt's stdout is ``TASK.ATTEMPT.log`` (the name runs made before the streams
    #: were kept apart used for both), its stderr ``TASK.ATTEMPT.stderr.log``.
    LOG_SUFFIXES = {"stdout": ".log", "stderr": ".stderr.log"}

    def log_key(self, run_id: str, step: str, task_id: str, attempt: int = 0,
                stream: str = "stdout") -> str:
        return safe_key(self._flow, "runs", run_id, step, "logs",
                        f"{task_id}.{attempt}{self.LOG_SUFFIXES[stream]}")

    def save_log(self, run_id: str, step: str, task_id: str, attempt: int, text: bytes,
                 stream: str = "stdout") -> None:
        self.backend.put_bytes(self.log_key(run_id, step, task_id, attempt, stream), text)

    def load_logs(self, run_id: str, step: str,
                  stream: str = "stdout") -> Iterator[tuple[str, int, bytes]]:
        """(task id, attempt, text) of every task attempt of ``step`` that wrote to ``stream``."""
        prefix = safe_key(self._flow, "runs", run_id, step, "logs")
        suffix = self.LOG_SUFFIXES[stream]
        for key in sorted(self.backend.list(prefix)):
            name = key.rsplit("/", 1)[-1]
            # Longest suffix first (".stderr.log" also ends in ".log"); a loop pass's task id
            # has dots of its own ("2.1"), so the attempt is the last part before the suffix.
            found = max((s for s in self.LOG_SUFFIXES.values() if name.endswith(s)), key=len,
                        default=None)
            task_id, _, attempt = name[:-len(found)].rpartition(".") if found else ("", "", "")
            if found == suffix and task_id and attempt.isdigit():
                yield task_id, int(attempt), self.backend.get_bytes(key)


def _map_file(path: str, key: str, name: str) -> bytes | memoryview:
    try:
        handle = open(path, "rb")
    except FileNotFoundError:
        raise ArtifactNotFound(f"artifact {name!r}: blob {key} is missing from the store") from None
    with handle:
        size = os.fstat(handle.fileno()).st_size
        if size == 0:
            return b""
        # A read-only map avoids a second full copy of large blobs while hashing and unpickling.
        return memoryview(mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ))


def _corrupted(ref: ArtifactRef, key: str, name: str, size: int) -> ArtifactError:
    return ArtifactError(
        f"artifact {name!r} is corrupted in the store: blob {key} has "
        f"{size} bytes and a different hash than recorded ({ref.size} bytes, sha256 "
        f"{ref.sha[:12]}...). Re-run the step that produced it."
    )


class _HashOnly:
    """A pickle target that only hashes: learns a value's blob key without writing its bytes."""

    def __init__(self) -> None:
        self.sha = hashlib.sha256()
        self.size = 0

    def write(self, chunk) -> int:  # noqa: ANN001 - bytes-like
        self.sha.update(chunk)
        n = memoryview(chunk).nbytes
        self.size += n
        return n


def _same_pickle(value: Any, ref: ArtifactRef) -> bool:
    """Whether ``value`` pickles to exactly the blob ``ref`` names (the way ``_serialize`` would
    write it). Anything else (Parquet, cloudpickle, a value that pickles differently after a
    round trip) answers False and takes the normal path, which is always correct."""
    if ref.encoding != serialize.PICKLE or serialize._columnar_kind(value) is not None:
        return False
    probe = _HashOnly()
    try:
        pickle.dump(value, probe, protocol=5)
    except Exception:  # noqa: BLE001 - unpicklable here: let save() choose the fallback
        return False
    return probe.size == ref.size and probe.sha.hexdigest() == ref.sha


class _HashingSpool:
    """A write target that hashes as it goes and moves to a temp file past ``SPOOL_BYTES``, so a
    large value is never held twice in memory (object + its bytes). With ``directory`` (a
    local store's root) the temp file is made there and renamed into place on upload, so the
    bytes are written to disk once, not spooled and then copied."""

    def __init__(self, directory: str | None = None) -> None:
        self.sha = hashlib.sha256()
        self.size = 0
        self._buffer: io.BytesIO | None = io.BytesIO()
        self._file = None
        self._directory = directory
        self._path: str | None = None

    def write(self, chunk) -> int:  # noqa: ANN001 - bytes-like
        self.sha.update(chunk)
        self.size += memoryview(chunk).nbytes
        if self._buffer is not None and self.size > SPOOL_BYTES:
            self._file = self._open_file()
            self._file.write(self._buffer.getbuffer())
            self._buffer = None
        return (self._file or self._buffer).write(chunk)

    def _open_file(self):  # noqa: ANN202 - a binary file object
        if self._directory is None:
            return tempfile.TemporaryFile()
        os.makedirs(self._directory, exist_ok=True)
        fd, self._path = tempfile.mkstemp(dir=self._directory, prefix=".tmp-spool-")
        return os.fdopen(fd, "w+b")

    def upload(self, backend: Backend, key: str) -> None:
        if self._buffer is not None:
            backend.put_bytes(key, self._buffer.getvalue())
        elif self._path is not None:
            self._file.close()
            backend.adopt_file(key, self._path)
            self._path = None
        else:
            self._file.seek(0)
            backend.put_stream(key, self._file, self.size)

    def __enter__(self) -> "_HashingSpool":
        return self

    def __exit__(self, *exc: object) -> None:
        if self._file is not None:
            self._file.close()
        if self._path is not None:  # not adopted (the blob existed, or the upload failed)
            try:
                os.unlink(self._path)
            except FileNotFoundError:
                pass
        self._buffer = self._file = self._path = None


def _serialize(value: Any, spool_dir: str | None = None) -> tuple[str, _HashingSpool]:
    """Plain values are pickled straight into the spool (the same bytes as ``serialize.encode``);
    columnar values and values only cloudpickle can handle take ``serialize.encode``'s path."""
    if serialize._columnar_kind(value) is None:
        spool = _HashingSpool(spool_dir)
        try:
            pickle.dump(value, spool, protocol=5)
            return serialize.PICKLE, spool
        except BaseException as exc:  # noqa: BLE001
            spool.__exit__()  # never leave a partial spool file behind
            if isinstance(exc, OSError) or not isinstance(exc, Exception):
                raise  # a full disk or an interrupt, not a value pickle cannot handle
    data, encoding = serialize.encode(value)
    spool = _HashingSpool(spool_dir)
    try:
        spool.write(data)
    except BaseException:
        spool.__exit__()
        raise
    return encoding, spool


def _type_name(value: Any) -> str:
    kind = type(value)
    return kind.__name__ if kind.__module__ == "builtins" else f"{kind.__module__}.{kind.__qualname__}"
