"""``@secrets``: values from secret sources become environment variables of the task only.

Sources (Metaflow's ``sources=[...]`` list):
- ``"name"`` or ``{"type": "kubernetes", "name": ..., "namespace": ...}``: a Kubernetes Secret,
  read through the Kubernetes API when the task starts: in a pod with its service account
  (in-cluster config; it needs ``get`` on secrets), elsewhere with the current kubeconfig.
  The namespace defaults to ``FLOWASSETS_KUBERNETES_NAMESPACE``, else ``default``.
- ``"env-file:PATH"`` or ``{"type": "env-file", "path": ...}``: a dotenv file (``KEY=value``
  lines) read at task start.
- ``"env:NAME[,NAME...]"`` or ``{"type": "env", "names": [...]}``: variables of the process that
  runs the step (a code server or pod that has them, e.g. from a deployment secret), handed to
  the task and masked in its output like any other secret. A Kubernetes secret name cannot hold
  ``:``, so the prefixed strings are unambiguous.

Values are set in the task's own process (never in op tags, run config or the launching
environment) and replaced by ``****`` in the task's captured output and error messages.
"""

from __future__ import annotations

import base64
import os
import sys
from typing import Any, Iterable, Mapping

from ..errors import FlowassetsError

MASK = "****"
_LOADED: list[str] = []  # values to scrub from this process's captured output


def normalize(source: Any) -> dict[str, Any]:
    if isinstance(source, str) and source.startswith("env-file:"):
        return {"type": "env-file", "path": source.split(":", 1)[1]}
    if isinstance(source, str) and source.startswith("env:"):
        return {"type": "env", "names": [n.strip() for n in source[4:].split(",") if n.strip()]}
    if isinstance(source, str):
        return {"type": "kubernetes", "name": source}
    if isinstance(source, Mapping) and source.get("type") in ("kubernetes", "env-file", "env"):
        return dict(source)
    raise FlowassetsError(f"@secrets source {source!r} is not supported: use a Kubernetes secret "
                          "name, 'env-file:PATH', 'env:NAME,...', or the dict forms "
                          "{'type': 'kubernetes'|'env-file'|'env', ...}.")


def kubernetes_secret_names(sources: Iterable[Any]) -> list[str]:
    return [s["name"] for s in map(normalize, sources) if s["type"] == "kubernetes"]


def load(sources: Iterable[Any], where: str) -> dict[str, str]:
    values: dict[str, str] = {}
    for source in map(normalize, sources):
        if source["type"] == "env-file":
            values.update(_read_env_file(source["path"], where))
        elif source["type"] == "env":
            missing = [n for n in source["names"] if n not in os.environ]
            if missing:
                raise FlowassetsError(f"{where}: @secrets source env:{','.join(source['names'])}: "
                                      f"variable(s) {missing} are not set where the step runs.")
            values.update({n: os.environ[n] for n in source["names"]})
        else:
            values.update(_read_kubernetes_secret(source, where))
    return values


def apply(values: Mapping[str, str]) -> None:
    os.environ.update(values)
    _LOADED.extend(v for v in values.values() if len(v) >= 4)


def scrub(text: bytes) -> bytes:
    for value in sorted(_LOADED, key=len, reverse=True):
        text = text.replace(value.encode(), MASK.encode())
    return text


def scrub_text(text: str) -> str:
    return scrub(text.encode()).decode(errors="replace")


def scrub_output_file(fds: tuple[int, ...] = (1, 2)) -> None:
    """Mask secret values in the task's log files (stdout's and stderr's), in place.

    A forked task writes stdout and stderr (its own prints, tracebacks and any subprocess it
    starts) straight to regular files; rewriting them at the end of the task catches every
    writer, not only Python's ``print``."""
    if not _LOADED:
        return
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            pass
    seen: set[tuple[int, int]] = set()
    for fd in fds:
        try:
            info = os.fstat(fd)
        except OSError:
            continue
        if (info.st_dev, info.st_ino) not in seen:
            seen.add((info.st_dev, info.st_ino))
            _scrub_file(fd, info)


def _scrub_file(fd: int, info: os.stat_result) -> None:
    import stat

    try:
        if not stat.S_ISREG(info.st_mode):
            return
        size = os.lseek(fd, 0, os.SEEK_END)
        os.lseek(fd, 0, os.SEEK_SET)
        data = b""
        while len(data) < size:
            chunk = os.read(fd, size - len(data))
            if not chunk:
                break
            data += chunk
        cleaned = scrub(data)
        os.ftruncate(fd, 0)
        os.lseek(fd, 0, os.SEEK_SET)
        os.write(fd, cleaned)
    except OSError:
        return


def _read_env_file(path: str, where: str) -> dict[str, str]:
    try:
        with open(os.path.expanduser(path)) as handle:
            lines = handle.read().splitlines()
    except OSError as exc:
        raise FlowassetsError(f"{where}: @secrets env-file {path!r} cannot be read ({exc.strerror}).") from None
    values = {}
    for line in lines:
        line = line.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, value = line.split("=", 1)
        values[key.strip().removeprefix("export ").strip()] = value.strip().strip("'\"")
    return values


def _read_kubernetes_secret(source: Mapping[str, Any], where: str) -> dict[str, str]:
    from kubernetes import client, config

    name = source["name"]
    namespace = source.get("namespace") or os.environ.get("FLOWASSETS_KUBERNETES_NAMESPACE", "default")
    try:
        if os.environ.get("KUBERNETES_SERVICE_HOST"):
            config.load_incluster_config()
        else:
            # KUBECONFIG read now, not when the kubernetes package was first imported.
            config.load_kube_config(config_file=os.environ.get("KUBECONFIG"))
        secret = client.CoreV1Api().read_namespaced_secret(name, namespace)
    except Exception as exc:  # noqa: BLE001 - config or API errors: say which secret, not its data
        raise FlowassetsError(f"{where}: @secrets could not read Kubernetes secret "
                              f"{namespace}/{name}: {type(exc).__name__}.") from None
    data = secret.data or {}
    return {key: base64.b64decode(value).decode() for key, value in data.items()}
