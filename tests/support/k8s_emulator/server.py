"""The REST surface: the URL layout, verbs, list/selector parameters, pod logs and Status errors
of the Kubernetes API, over ``Store`` + ``Kubelet`` + ``JobController``.

Served over plain HTTP on 127.0.0.1; ``write_kubeconfig`` writes the file clients load.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import signal
from pathlib import Path
from typing import Any

from aiohttp import web

from .jobs import JobController, JobSettings
from .kubelet import Kubelet, NodeSettings
from .store import BY_PATH, ApiError, Obj, Resource, Store
from .validation import SCHEMA_VERSION, admit

_MERGE_TYPES = ("application/merge-patch+json", "application/strategic-merge-patch+json")


class Emulator:
    def __init__(self, node: NodeSettings, jobs: JobSettings) -> None:
        self.store = Store()
        self.store.admit = admit
        self.node, self.jobs_settings = node, jobs
        self.kubelet: Kubelet | None = None

    async def start_controllers(self, app: web.Application) -> None:
        # Controllers start inside the running loop: they create asyncio tasks and processes.
        self.kubelet = Kubelet(self.store, self.node)
        JobController(self.store, self.kubelet, self.jobs_settings)

    async def stop_processes(self, app: web.Application) -> None:
        """No container process outlives the emulator (a test run must not leak pods)."""
        for run in self.kubelet.runs.values() if self.kubelet else []:
            for proc in run.procs:
                _kill_group(proc.pid)

    def app(self) -> web.Application:
        app = web.Application(middlewares=[_status_errors], client_max_size=64 * 1024 * 1024)
        app.on_startup.append(self.start_controllers)
        app.on_shutdown.append(self.stop_processes)
        app.router.add_get("/version", self.version)
        app.router.add_route("*", "/{tail:.*}", self.dispatch)
        return app

    async def version(self, request: web.Request) -> web.Response:
        minor = SCHEMA_VERSION.split(".")[1]
        return _json({"major": "1", "minor": minor, "gitVersion": f"v1.{minor}.0-flowassets-emulator",
                      "platform": "linux/amd64"})

    async def dispatch(self, request: web.Request) -> web.StreamResponse:
        parts = [p for p in request.path.split("/") if p]
        if parts[:1] == ["api"] and len(parts) >= 2:
            group, version, rest = "", parts[1], parts[2:]
        elif parts[:1] == ["apis"] and len(parts) >= 3:
            group, version, rest = parts[1], parts[2], parts[3:]
        else:
            raise ApiError(404, "NotFound", f"the server could not find the requested resource ({request.path})")
        ns = None
        if rest[0] == "namespaces" and len(rest) >= 3:
            ns, rest = rest[1], rest[2:]
        res = BY_PATH.get((group, version, rest[0])) if rest else None
        if res is None or len(rest) > 3:
            raise ApiError(404, "NotFound", f"the server could not find the requested resource ({request.path})")
        name, sub = (rest + [None, None])[1:3]
        if _flag(request, "watch"):
            raise ApiError(405, "MethodNotAllowed", "watch is not emulated (dagster-k8s polls)")
        if sub == "log" and res.kind == "Pod" and request.method == "GET":
            return await self.pod_log(request, ns, name)
        if sub not in (None, "status"):
            raise ApiError(404, "NotFound", f"subresource {sub} is not emulated")
        return _json(await self.crud(request, res, ns, name, sub == "status"))

    async def crud(self, request: web.Request, res: Resource, ns: str | None, name: str | None,
                   status_only: bool) -> Obj:
        method, store = request.method, self.store
        if name is None and method == "GET":
            items = store.list(res, ns, request.query.get("labelSelector", ""),
                               request.query.get("fieldSelector", ""))
            return {"kind": f"{res.kind}List", "apiVersion": res.api_version,
                    "metadata": {"resourceVersion": str(max([0, *(int(o["metadata"]["resourceVersion"])
                                                                  for o in items)]))},
                    "items": items}
        if name is None and method == "POST":
            return store.create(res, ns, await _body(request))
        if name is not None and method == "GET":
            return store.get(res, ns, name)
        if name is not None and method == "PUT":
            return store.update(res, ns, name, await _body(request), status_only)
        if name is not None and method == "PATCH":
            if request.content_type not in _MERGE_TYPES:
                raise ApiError(415, "UnsupportedMediaType",
                               f"the emulator only applies merge patches, not {request.content_type}")
            return store.patch(res, ns, name, await _body(request), status_only)
        if name is not None and method == "DELETE":
            options = await _body(request) if request.can_read_body else {}
            for key in ("propagationPolicy", "gracePeriodSeconds"):
                if key in request.query:
                    value = request.query[key]
                    options[key] = int(value) if key == "gracePeriodSeconds" else value
            return store.delete(res, ns, name, options)
        raise ApiError(405, "MethodNotAllowed", f"{method} is not allowed on {request.path}")

    async def pod_log(self, request: web.Request, ns: str | None, name: str) -> web.StreamResponse:
        pod = self.store.get(BY_PATH[("", "v1", "pods")], ns, name)
        names = [c["name"] for c in pod["spec"]["containers"]]
        container = request.query.get("container") or (names[0] if len(names) == 1 else None)
        if container not in names:
            raise ApiError(400, "BadRequest", f"a container name must be specified for pod {name}, choose "
                           f"one of: [{' '.join(names)}]" if container is None else
                           f"container {container} is not valid for pod {name}")
        path = self.kubelet.log_path(pod, container)
        if not path.exists():
            statuses = {s["name"]: s for s in pod.get("status", {}).get("containerStatuses") or []}
            waiting = (statuses.get(container, {}).get("state") or {}).get("waiting") or {}
            raise ApiError(400, "BadRequest", f'container "{container}" in pod "{name}" is waiting to start: '
                           f"{waiting.get('reason', 'ContainerCreating')}")
        if not _flag(request, "follow"):
            return web.Response(body=_tail(path.read_bytes(), request.query), content_type="text/plain")
        response = web.StreamResponse(headers={"Content-Type": "text/plain"})
        await response.prepare(request)
        run = self.kubelet.runs.get(pod["metadata"]["uid"])
        with path.open("rb") as log:
            while True:
                finished = run is None or run.done.is_set() or pod["metadata"].get("deletionTimestamp")
                chunk = log.read()
                if chunk:
                    await response.write(chunk)
                elif finished:
                    break
                else:
                    await asyncio.sleep(0.1)
        await response.write_eof()
        return response


def _kill_group(pid: int) -> None:
    try:
        os.killpg(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def _flag(request: web.Request, name: str) -> bool:
    return request.query.get(name, "").lower() in ("true", "1")  # the Python client sends "True"


def _tail(data: bytes, query: Any) -> bytes:
    if "tailLines" in query:
        lines = data.splitlines(keepends=True)
        data = b"".join(lines[len(lines) - int(query["tailLines"]):]) if int(query["tailLines"]) else b""
    if "limitBytes" in query:
        data = data[: int(query["limitBytes"])]
    return data


async def _body(request: web.Request) -> Obj:
    try:
        body = json.loads(await request.read() or b"{}")
    except json.JSONDecodeError as exc:
        raise ApiError(400, "BadRequest", f"the request body is not JSON: {exc}") from None
    if not isinstance(body, dict):
        raise ApiError(400, "BadRequest", "the request body must be a JSON object")
    return body


def _json(obj: Obj, status: int = 200) -> web.Response:
    return web.json_response(obj, status=status, dumps=lambda o: json.dumps(o, default=str))


@web.middleware
async def _status_errors(request: web.Request, handler: Any) -> web.StreamResponse:
    try:
        return await handler(request)
    except ApiError as exc:
        return _json(exc.body(), exc.code)
    except web.HTTPException:
        raise
    except Exception as exc:  # noqa: BLE001 - an emulator bug must reach the client as a Status
        logging.getLogger(__name__).exception("internal error on %s %s", request.method, request.path)
        return _json(ApiError(500, "InternalError", f"emulator error: {exc!r}").body(), 500)


def write_kubeconfig(path: Path, port: int, namespace: str = "default") -> Path:
    """A kubeconfig (JSON is valid YAML) for ``kubernetes.config.load_kube_config``."""
    path.write_text(json.dumps({
        "apiVersion": "v1", "kind": "Config", "current-context": "emulator", "preferences": {},
        "clusters": [{"name": "emulator", "cluster": {"server": f"http://127.0.0.1:{port}"}}],
        "users": [{"name": "emulator", "user": {"token": "emulator-has-no-auth"}}],
        "contexts": [{"name": "emulator", "context": {"cluster": "emulator", "user": "emulator",
                                                       "namespace": namespace}}]}, indent=2))
    return path
