"""``ds_type="flowassets"``: Metaflow's datastore reading a flowassets store, read-only.

The store keeps blobs as Metaflow's content-addressed store does (``FLOW/data/ab/abcd...``), raw
rather than gzipped, so a blob is handed to Metaflow as stored (``cas_raw``) and decoded by the
serializer its artifact dict names. The datastore root is the store's location as flowassets
records it on each run (``local:/path``, ``s3:s3://bucket/prefix``, ...). Under a task's path,
Metaflow looks for per-attempt files; they are answered from the task's flowassets record:
``<attempt>.attempt.json``, ``<attempt>.DONE.lock``, ``<attempt>.data.json`` (names, hashes,
sizes) and ``<attempt>.task_stdout.log`` / ``task_stderr.log`` (the task's two streams, as flowassets
keeps them; the runtime logs are empty).
"""

import json
import os
import re
import shutil
import tempfile
from datetime import datetime, timedelta, timezone

from metaflow.datastore.datastore_storage import CloseAfterUse, DataStoreStorage
from metaflow.exception import MetaflowException

_TASK_FILE = re.compile(r"^(\d+)\.(attempt\.json|DONE\.lock|data\.json|"
                        r"(runtime|task)_(stdout|stderr)\.log)$")


class FlowassetsStorage(DataStoreStorage):
    TYPE = "flowassets"

    def __init__(self, root=None):
        super().__init__(root)
        self._backend = None

    @classmethod
    def get_datastore_root_from_config(cls, echo, create_on_absent=True):
        return None  # only ever opened on a root an artifact dict names

    @classmethod
    def get_datastore_root_from_location(cls, path, flow_name):
        marker = "/%s/data/" % flow_name
        if marker not in path:
            raise MetaflowException("flowassets datastore: %s is not a blob of flow %s"
                                    % (path, flow_name))
        return path.split(marker, 1)[0]

    def backend(self):
        if self._backend is None:
            from flowassets.storage import select

            self._backend = select.open_location(self.datastore_root)
        return self._backend

    # -- reading ------------------------------------------------------------------------------
    def is_file(self, paths):
        return [self._content(p) is not None for p in paths]

    def info_file(self, path):
        found = self._content(path)
        return found is not None, None

    def size_file(self, path):
        found = self._content(path)
        if found is None:
            return None
        return os.path.getsize(found) if isinstance(found, str) else len(found)

    def list_content(self, paths):
        raise MetaflowException("the flowassets datastore cannot list; use the client objects")

    def load_bytes(self, keys):
        tmp = tempfile.mkdtemp(prefix="flowassets-mf-")
        loaded = []
        for i, key in enumerate(keys):
            found = self._content(key)
            if found is None:
                loaded.append((key, None, None))
                continue
            if not isinstance(found, str):  # bytes made here: to a file, as Metaflow reads them
                path = os.path.join(tmp, str(i))
                with open(path, "wb") as handle:
                    handle.write(found)
                found = path
            loaded.append((key, found, {"cas_raw": True, "cas_version": 1}))
        return CloseAfterUse(iter(loaded), closer=_Remove(tmp))

    def save_bytes(self, path_and_bytes_iter, overwrite=False, len_hint=0):
        raise MetaflowException("the flowassets datastore is read-only: flowassets writes it")

    def delete_bytes(self, keys):  # pragma: no cover - not part of reading
        raise MetaflowException("the flowassets datastore is read-only: flowassets writes it")

    # -- what a path holds ----------------------------------------------------------------------
    def _content(self, path):
        """A local file path or bytes for ``path`` (relative to the root), None if absent."""
        parts = [p for p in path.split("/") if p]
        if len(parts) == 4 and parts[1] == "data":
            return self._blob(parts[0], parts[3])
        if len(parts) == 5:
            match = _TASK_FILE.match(parts[4])
            if match:
                return self._task_file(parts[:4], int(match.group(1)), match.group(2))
        return None

    def _blob(self, flow, sha):
        from flowassets.errors import FlowassetsError
        from flowassets.storage.artifacts import ArtifactStore

        from . import synthetic

        kept = synthetic.get(sha)
        if kept is not None:
            return kept
        backend = self.backend()
        key = ArtifactStore(backend, flow).blob_key(sha)
        local = backend.local_path(key)
        if local is not None:
            return local if os.path.exists(local) else None
        try:
            return backend.get_bytes(key)
        except FlowassetsError:
            return None

    def _task_file(self, path, attempt, name):
        from .metadata import FlowassetsMetadataProvider
        from .objects import Objects

        objects = Objects(FlowassetsMetadataProvider.instance())
        task = objects.locate(tuple(path))
        if task is None:
            return None
        record = getattr(task, "record", None) if _finished(task) else None
        if name in ("task_stdout.log", "task_stderr.log"):
            stream = name[len("task_"):-len(".log")]
            return _as_mflog(task.output(attempt, stream), record, stream) if record else None
        if record is None or attempt != record.attempt or name.endswith(".log"):
            return None
        if name == "data.json":
            found = objects.artifacts(task, attempt)
            return json.dumps({
                "objects": {a["name"]: a["sha"] for a in found},
                "info": {a["name"]: {"size": _size(record, a["name"]),
                                     "encoding": a["content_type"],
                                     "type": _type(record, a["name"])} for a in found},
            }).encode()
        return json.dumps({"time": record.started_at}).encode()  # attempt.json, DONE.lock


class _Remove:
    def __init__(self, path):
        self.path = path

    def close(self):
        shutil.rmtree(self.path, ignore_errors=True)


def _finished(task):
    from flowassets.errors import ClientError

    try:
        task.record  # noqa: B018
        return True
    except ClientError:
        return False


def _size(record, name):
    ref = record.artifacts.get(name)
    return ref.size if ref is not None else 0


def _type(record, name):
    ref = record.artifacts.get(name)
    return "<class '%s'>" % ref.type if ref is not None and ref.type else "object"


def _as_mflog(text, record, stream):
    """The output as Metaflow's structured log lines, one microsecond apart from the task's
    start, so Metaflow's merge (which sorts by time) keeps their order."""
    start = datetime.fromtimestamp(record.started_at or 0, timezone.utc)
    lines = []
    for i, line in enumerate(text.splitlines()):
        stamp = (start + timedelta(microseconds=i)).strftime("%Y-%m-%dT%H:%M:%S.%f")
        lines.append("[MFLOG|0|%sZ|task|%s]%s" % (stamp, stream, line))
    return ("\n".join(lines) + ("\n" if lines else "")).encode("utf-8")
