"""The default store: a folder on local disk (``.flowassets/`` or FLOWASSETS_DATASTORE_SYSROOT_LOCAL)."""

from __future__ import annotations

import os
import shutil
import tempfile
from typing import BinaryIO, Iterator

from ..errors import ArtifactNotFound
from .backend import Backend, write_error


class LocalBackend(Backend):
    def __init__(self, root: str):
        self.root = os.path.abspath(root)
        self.url = f"local://{self.root}"

    def _path(self, key: str) -> str:
        return os.path.join(self.root, *key.split("/"))

    def _write_atomically(self, key: str, writer, size: int | None = None) -> None:
        """Write to a temp file next to the key and rename it into place: a reader sees the
        whole object or none. A failed write (a full disk) leaves no partial file behind and
        raises a ``StorageError`` that names the store, the key and the room left."""
        path = self._path(key)
        directory = os.path.dirname(path)
        tmp = None
        try:
            os.makedirs(directory, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=directory, prefix=".tmp-")
            with os.fdopen(fd, "wb") as handle:
                writer(handle)
            os.replace(tmp, path)
        except BaseException as exc:
            if tmp is not None and os.path.exists(tmp):
                os.unlink(tmp)
            if isinstance(exc, OSError):
                raise write_error(self.url, key, exc, size, self.root) from exc
            raise

    def put_bytes(self, key: str, data: bytes) -> None:
        self._write_atomically(key, lambda handle: handle.write(data), len(data))

    def put_stream(self, key: str, stream: BinaryIO, size: int | None = None) -> None:
        self._write_atomically(key, lambda handle: shutil.copyfileobj(stream, handle, 8 << 20), size)

    def get_bytes(self, key: str) -> bytes:
        try:
            with open(self._path(key), "rb") as handle:
                return handle.read()
        except FileNotFoundError:
            raise ArtifactNotFound(f"no object {key!r} in {self.url}") from None

    def open_read(self, key: str) -> BinaryIO:
        try:
            return open(self._path(key), "rb")
        except FileNotFoundError:
            raise ArtifactNotFound(f"no object {key!r} in {self.url}") from None

    def exists(self, key: str) -> bool:
        return os.path.exists(self._path(key))

    def list(self, prefix: str) -> Iterator[str]:
        base = self._path(prefix)
        if not os.path.isdir(base):
            return
        for dirpath, _, files in os.walk(base):
            for name in files:
                if name.startswith(".tmp-"):
                    continue
                full = os.path.join(dirpath, name)
                yield os.path.relpath(full, self.root).replace(os.sep, "/")

    def spool_dir(self) -> str | None:
        return self.root  # same filesystem as every key: adopt_file is a rename

    def adopt_file(self, key: str, path: str) -> None:
        target = self._path(key)
        try:
            os.makedirs(os.path.dirname(target), exist_ok=True)
            os.replace(path, target)
        except OSError as exc:  # a new folder on a full disk: the spooled file is consumed
            size = os.path.getsize(path) if os.path.exists(path) else None
            if os.path.exists(path):
                os.unlink(path)
            raise write_error(self.url, key, exc, size, self.root) from exc

    def local_path(self, key: str) -> str | None:
        return self._path(key)
