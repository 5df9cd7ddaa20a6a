"""Where the warm worker lives and which installation it belongs to (stdlib only: the thin
client imports this on every command).

The directory is private to the user (0700, owned by them, not a symlink); each installation
(Python executable, sys.path, flowassets' files, installed packages) has its own key, and a
worker serves only clients that compute the same key from the same files. A pip install, an
edited flowassets file or another virtualenv gives another key, so a stale worker is never used.
"""

from __future__ import annotations

import hashlib
import json
import os
import stat
import sys
from dataclasses import dataclass

#: Set to 1 to never use the worker (every command runs in its own process, as before).
DISABLE_ENV = "FLOWASSETS_NO_DAEMON"
#: The worker's directory (default $XDG_RUNTIME_DIR/flowassets, else /tmp/flowassets-UID).
DIR_ENV = "FLOWASSETS_WORKER_DIR"
#: Seconds without a command after which the worker exits (default 1800).
IDLE_ENV = "FLOWASSETS_WORKER_IDLE_S"
#: Set to 1 to print why the worker was not used (a refusal is otherwise silent).
DEBUG_ENV = "FLOWASSETS_WORKER_DEBUG"
DEFAULT_IDLE_S = 1800.0

#: Variables read when the interpreter starts (locale, encodings, hashing): a worker started
#: with other values would behave differently, so they are part of the key.
STARTUP_ENV = ("PYTHONHASHSEED", "PYTHONIOENCODING", "PYTHONUTF8", "PYTHONMALLOC", "LANG",
               "LC_ALL", "LC_CTYPE", "PYTHONWARNINGS", "PYTHONDEVMODE")


class WorkerUnavailable(Exception):
    """The worker cannot be used here; the command runs in its own process instead."""


def disabled() -> bool:
    return os.environ.get(DISABLE_ENV, "").strip().lower() not in ("", "0", "false", "no")


def idle_seconds() -> float:
    try:
        return float(os.environ.get(IDLE_ENV, DEFAULT_IDLE_S))
    except ValueError:
        return DEFAULT_IDLE_S


def worker_dir() -> str:
    given = os.environ.get(DIR_ENV)
    if given:
        return given
    runtime = os.environ.get("XDG_RUNTIME_DIR")
    if runtime and os.path.isdir(runtime):
        return os.path.join(runtime, "flowassets")
    return f"/tmp/flowassets-{os.getuid()}"


def private_dir(path: str) -> str:
    """Create ``path`` 0700 if missing and make sure only this user can reach into it: owned by
    us, no access for group/others, a real directory (not a symlink someone planted)."""
    try:
        os.mkdir(path, 0o700)
    except FileExistsError:
        pass
    except OSError as exc:
        raise WorkerUnavailable(f"cannot create {path}: {exc.strerror}") from None
    info = os.lstat(path)
    if not stat.S_ISDIR(info.st_mode):
        raise WorkerUnavailable(f"{path} is not a directory")
    if info.st_uid != os.getuid():
        raise WorkerUnavailable(f"{path} belongs to uid {info.st_uid}, not to this user")
    if info.st_mode & 0o077:
        raise WorkerUnavailable(f"{path} is open to other users (mode {oct(info.st_mode & 0o777)})")
    return path


def stable_sys_path() -> list[str]:
    """sys.path without its first entry when that is the script's directory or the current one
    (``python -m`` puts the working directory there): that entry changes from command to command
    and is checked per command instead (server.Worker.shadowed)."""
    return list(sys.path if sys.flags.safe_path else sys.path[1:])


def _tree_digest(root: str, digest: "hashlib._Hash") -> None:
    for folder, dirs, files in os.walk(root):
        dirs[:] = sorted(d for d in dirs if d != "__pycache__")
        for name in sorted(files):
            if name.endswith((".py", ".so", ".pth", ".json", ".yaml")):
                try:
                    info = os.stat(os.path.join(folder, name))
                except OSError:
                    continue
                digest.update(f"{folder}/{name}:{info.st_mtime_ns}:{info.st_size}\n".encode())


def _mtime(path: str) -> int | None:
    try:
        return os.stat(path or ".").st_mtime_ns
    except OSError:
        return None


def key_inputs(package_dir: str, path: list[str]) -> dict:
    """Everything a warm worker's imports depend on. Each sys.path directory's mtime changes when
    a package is installed, upgraded or removed there (pip renames dist-info folders);
    flowassets' own files are stat'ed one by one (an editable checkout changes in place)."""
    dagster_dir = next((os.path.join(p, "dagster") for p in path
                        if p and os.path.isfile(os.path.join(p, "dagster", "version.py"))), None)
    return {
        "executable": sys.executable, "real": os.path.realpath(sys.executable),
        "version": sys.version, "flags": repr(sys.flags), "xoptions": repr(sys._xoptions),
        "warnoptions": sys.warnoptions,
        "path": [(p, _mtime(p)) for p in path],
        "flowassets": package_dir,
        "dagster": dagster_dir and _mtime(os.path.join(dagster_dir, "version.py")),
        "env": {name: os.environ.get(name) for name in STARTUP_ENV},
    }


def compute_key(inputs: dict) -> str:
    digest = hashlib.sha256(json.dumps(inputs, sort_keys=True).encode())
    _tree_digest(inputs["flowassets"], digest)
    return digest.hexdigest()


def flowassets_dir() -> str:
    import flowassets

    return os.path.dirname(os.path.abspath(flowassets.__file__))


@dataclass(frozen=True)
class Place:
    """One installation's worker: its socket, lock, status file and log in ``directory``."""

    directory: str
    key: str

    def file(self, suffix: str) -> str:
        return os.path.join(self.directory, f"w-{self.key[:20]}{suffix}")

    @property
    def socket(self) -> str:
        return self.file(".sock")

    @property
    def lock(self) -> str:
        return self.file(".lock")

    @property
    def info(self) -> str:
        return self.file(".json")

    @property
    def log(self) -> str:
        return self.file(".log")


def locate() -> tuple[Place, list[str]]:
    """This installation's place and the stable sys.path the worker is started with."""
    path = stable_sys_path()
    directory = private_dir(worker_dir())
    place = Place(directory, compute_key(key_inputs(flowassets_dir(), path)))
    if len(place.socket.encode()) > 100:  # sun_path holds 108 bytes
        raise WorkerUnavailable(f"{directory} is too long a path for a Unix socket")
    return place, path
