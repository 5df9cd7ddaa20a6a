"""The interface every object store implements: bytes and files under string keys.

Kept to the operations object stores share (put, get, exists, list), so local disk, S3, GCS
and Azure Blob are interchangeable behind ``ArtifactStore``. Keys are always relative and
validated by ``safe_key`` before they reach a backend, so no artifact name can escape the
configured prefix.
"""

from __future__ import annotations

import errno
import os
import re
import shutil
import unicodedata
from abc import ABC, abstractmethod
from typing import BinaryIO, Iterator

from ..errors import StorageError

_SEGMENT = re.compile(r"^[A-Za-z0-9_.=\-]+$")


def safe_key(*segments: str) -> str:
    """Join key segments, refusing anything that could leave the store's prefix."""
    parts = []
    for seg in segments:
        for piece in str(seg).split("/"):
            norm = unicodedata.normalize("NFKC", piece)
            if norm != piece or not piece or piece in (".", "..") or not _SEGMENT.match(piece):
                raise StorageError(
                    f"refusing storage key segment {piece!r} (from {seg!r}): keys may only use "
                    "ASCII letters, digits, '_', '-', '.', '=' and may not be '.' or '..'."
                )
            parts.append(piece)
    return "/".join(parts)


#: Write failures that mean "the disk is full", not "the store is broken".
NO_SPACE_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT})


def _mb(size: int) -> str:
    return f"{size / (1 << 20):.1f} MB"


def write_error(url: str, what: str, exc: OSError, size: int | None = None,
                folder: str | None = None) -> StorageError:
    """A ``StorageError`` for a failed write to a local folder: one paragraph that says which
    store and object, how big, and (for a full disk or quota) how much room is left and what to
    do. The caller has already removed its partial file, and the message says so."""
    amount = f" ({_mb(size)})" if size is not None else ""
    reason = errno.errorcode.get(exc.errno or 0, "") or type(exc).__name__
    if exc.errno in NO_SPACE_ERRNOS:
        free = ""
        if folder is not None:
            try:
                free = f", {_mb(shutil.disk_usage(folder).free)} free"
            except OSError:
                pass
        return StorageError(
            f"the artifact store {url} is out of space: writing {what}{amount} failed "
            f"({reason}: {exc.strerror}{free}); the partial file was removed. Free space there "
            "or point FLOWASSETS_DATASTORE_SYSROOT_LOCAL at a larger disk, then run "
            "`flowassets resume` to re-run the failed step."
        )
    return StorageError(f"the artifact store {url} could not write {what}{amount} ({reason}: "
                        f"{exc.strerror or exc}); the partial file was removed.")


class Backend(ABC):
    """Raw object storage under one root/prefix."""

    #: A description safe to show (no credentials), e.g. ``s3://bucket/prefix``.
    url: str

    @abstractmethod
    def put_bytes(self, key: str, data: bytes) -> None: ...

    @abstractmethod
    def get_bytes(self, key: str) -> bytes: ...

    @abstractmethod
    def exists(self, key: str) -> bool: ...

    @abstractmethod
    def list(self, prefix: str) -> Iterator[str]:
        """Keys under ``prefix`` (relative to the store root)."""

    def put_stream(self, key: str, stream: BinaryIO, size: int | None = None) -> None:
        """Upload from a file object; backends override to stream without a full copy."""
        self.put_bytes(key, stream.read())

    def open_read(self, key: str) -> BinaryIO:
        """A readable file object; backends override to stream."""
        import io

        return io.BytesIO(self.get_bytes(key))

    def spool_dir(self) -> str | None:
        """Where to spool large values so ``adopt_file`` can rename them into place (a local
        folder's root); None: spool to an unnamed temp file and ``put_stream`` it."""
        return None

    def adopt_file(self, key: str, path: str) -> None:
        """Store the file at ``path`` (made in ``spool_dir()``) under ``key``; it is consumed."""
        try:
            with open(path, "rb") as handle:
                self.put_stream(key, handle, os.path.getsize(path))
        finally:
            os.unlink(path)

    def local_path(self, key: str) -> str | None:
        """A filesystem path for the key when the backend is a local folder (zero-copy reads)."""
        return None

    def describe(self) -> str:
        return self.url
