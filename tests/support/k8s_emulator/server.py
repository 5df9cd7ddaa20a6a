"""The REST surface: the URL layout, verbs, list/selector parameters, pod logs and Status errors
of the Kubernetes API, over ``Store`` + ``Kubelet`` + ``JobController``.

Served over plain HTTP on 127.0.0.1; ``write_kubeconfig`` writes the file clients load.

Besides the Kubernetes paths, ``/_emulator/...`` serves what only tests ask for (README.md): the
API requests the emulator served (``requests``), a record of every pod that ever ran (``pods``)
and fault rules by label selector (``faults``). Those requests are not counted themselves.
"""

from __future__ import annotations

import asyncio
import collections
import itertools
import json
import logging
import os
import signal
import sys
import time
from pathlib import Path
from typing import Any

from aiohttp import web

from .jobs import JobController, JobSettings
from .kubelet import Kubelet, NodeSettings
from .store import BY_PATH, ApiError, Obj, Resource, Store, compile_label_selector
from .validation import SCHEMA_VERSION, admit

_MERGE_TYPES = ("application/merge-patch+json", "application/strategic-merge-patch+json")
MAX_REQUEST_RECORDS = 1_000_000  # the oldest are dropped beyond this (reported as "dropped")
_VERBS = {"POST": "create", "PUT": "update", "PATCH": "patch", "DELETE": "delete"}


def classify(method: str, path: str, query: Any) -> Obj:
    """What a request asked for, in the API server's terms (as audit logs and RBAC name it):
    verb get/list/watch/create/update/patch/delete/deletecollection, or ``log`` for pod logs."""
    parts = [p for p in path.split("/") if p]
    group = version = plural = kind = ns = name = sub = None
    if parts[:1] == ["api"] and len(parts) >= 2:
        group, version, rest = "", parts[1], parts[2:]
    elif parts[:1] == ["apis"] and len(parts) >= 3:
        group, version, rest = parts[1], parts[2], parts[3:]
    else:
        rest = []
    if rest[:1] == ["namespaces"] and len(rest) >= 3:
        ns, rest = rest[1], rest[2:]
    if rest:
        plural, name, sub = (rest + [None, None])[:3]
        res = BY_PATH.get((group, version, plural))
        kind = res.kind if res else None
        if plural == "namespaces" and name and ns is None:
            ns = name  # a namespace belongs to itself, so ?namespace= finds its own create/delete
    watch = query.get("watch", "").lower() in ("true", "1")
    if sub == "log":
        verb = "log"
    elif method == "GET":
        verb = "get" if name else "watch" if watch else "list"
    elif method == "DELETE" and not name and plural:
        verb = "deletecollection"
    else:
        verb = _VERBS.get(method, method.lower())
    return {"method": method, "path": path, "verb": verb, "group": group, "version": version,
            "plural": plural, "resource": f"{plural}/{sub}" if plural and sub and sub != "log" else plural,
            "kind": kind, "namespace": ns, "name": name, "subresource": sub,
            "labelSelector": query.get("labelSelector") or None, "fieldSelector": query.get("fieldSelector") or None}


class Emulator:
    def __init__(self, node: NodeSettings, jobs: JobSettings) -> None:
        self.store = Store()
        self.store.admit = admit
        self.node, self.jobs_settings = node, jobs
        self.kubelet: Kubelet | None = None
        self.requests: collections.deque[Obj] = collections.deque(maxlen=MAX_REQUEST_RECORDS)
        self.request_seq = itertools.count(1)
        self.last_seq = 0
        self.dropped = 0

    async def start_controllers(self, app: web.Application) -> None:
        # Controllers start inside the running loop: they create asyncio tasks and processes.
        if sys.version_info < (3, 12) and hasattr(os, "pidfd_open"):
            # Python 3.11's default child watcher starts a thread per container process (~2 ms of
            # the event loop per pod, and 1,000 threads for 1,000 pods); 3.12+ uses pidfds already.
            try:
                os.close(os.pidfd_open(os.getpid()))
                watcher = asyncio.PidfdChildWatcher()
                watcher.attach_loop(asyncio.get_running_loop())
                asyncio.set_child_watcher(watcher)
            except OSError:
                pass  # kernel without pidfd_open (< 5.3): keep the threaded watcher
        self.kubelet = Kubelet(self.store, self.node)
        JobController(self.store, self.kubelet, self.jobs_settings)

    async def stop_processes(self, app: web.Application) -> None:
        """No container process outlives the emulator (a test run must not leak pods)."""
        for run in self.kubelet.runs.values() if self.kubelet else []:
            for proc in run.procs:
                _kill_group(proc.pid)

    def app(self) -> web.Application:
        app = web.Application(middlewares=[self._count_requests, _status_errors],
                              client_max_size=64 * 1024 * 1024)
        app.on_startup.append(self.start_controllers)
        app.on_shutdown.append(self.stop_processes)
        app.router.add_get("/_emulator/requests", self.get_requests)
        app.router.add_post("/_emulator/requests/reset", self.reset_requests)
        app.router.add_get("/_emulator/pods", self.get_pods)
        app.router.add_get("/_emulator/faults", self.get_faults)
        app.router.add_post("/_emulator/faults", self.add_fault)
        app.router.add_delete("/_emulator/faults", self.clear_faults)
        app.router.add_route("*", "/_emulator/{tail:.*}", self.emulator_not_found)
        app.router.add_get("/version", self.version)
        app.router.add_route("*", "/{tail:.*}", self.dispatch)
        return app

    @web.middleware
    async def _count_requests(self, request: web.Request, handler: Any) -> web.StreamResponse:
        """Record every Kubernetes API request (not ``/_emulator``) as it arrives; its status and
        duration are filled in when it is answered (a followed log: when the stream ends)."""
        if request.path.startswith("/_emulator/"):
            return await handler(request)
        seq = self.last_seq = next(self.request_seq)
        record = {"seq": seq, "time": time.time(), **classify(request.method, request.path, request.query),
                  "status": None, "durationMs": None, "userAgent": request.headers.get("User-Agent")}
        if len(self.requests) == self.requests.maxlen:
            self.dropped += 1
        self.requests.append(record)
        started = time.perf_counter()
        try:
            response = await handler(request)
            record["status"] = response.status
            return response
        except web.HTTPException as exc:
            record["status"] = exc.status
            raise
        finally:
            record["durationMs"] = round((time.perf_counter() - started) * 1000, 3)

    async def get_requests(self, request: web.Request) -> web.Response:
        """``?since=SEQ`` (records after it), ``namespace``, ``verb``, ``resource`` (``pods``,
        ``jobs/status``), ``kind``, ``method``, ``labelSelector=true|false`` (only requests with /
        without one), ``records=false`` (counts only)."""
        query = request.query
        try:
            since = int(query.get("since", 0))
        except ValueError:
            raise ApiError(400, "BadRequest", f"since must be an integer, not {query['since']!r}") from None
        filters = {k: query[k] for k in ("namespace", "verb", "resource", "kind", "method") if k in query}
        selector = query.get("labelSelector")
        found = [r for r in self.requests if r["seq"] > since
                 and all(r[k] == v for k, v in filters.items())
                 and (selector is None or bool(r["labelSelector"]) == (selector.lower() in ("true", "1")))]
        counts: dict[str, int] = {}
        for r in found:
            key = f"{r['verb']} {r['resource'] or r['path']}"
            counts[key] = counts.get(key, 0) + 1
        body: Obj = {"last": self.last_seq, "dropped": self.dropped, "total": len(found),
                     "counts": dict(sorted(counts.items()))}
        if query.get("records", "true").lower() not in ("false", "0"):
            body["requests"] = found
        return _json(body)

    async def reset_requests(self, request: web.Request) -> web.Response:
        """Forget the records (sequence numbers go on, so an earlier ``since`` stays valid)."""
        cleared = len(self.requests)
        self.requests.clear()
        self.dropped = 0
        return _json({"last": self.last_seq, "cleared": cleared})

    async def get_pods(self, request: web.Request) -> web.Response:
        """Every pod the kubelet was given, deleted or not: ``?namespace=``, ``labelSelector=``,
        ``job=`` filter. ``now`` is the emulator's clock, for pods still running."""
        query, records = request.query, self.kubelet.history.values()
        if "namespace" in query:
            records = [r for r in records if r["namespace"] == query["namespace"]]
        if "job" in query:
            records = [r for r in records if r["job"] == query["job"]]
        if query.get("labelSelector"):
            matches = compile_label_selector(query["labelSelector"])
            records = [r for r in records if matches(r["labels"])]
        return _json({"now": time.time(), "pods": list(records)})

    async def get_faults(self, request: web.Request) -> web.Response:
        rules = self.kubelet.fault_rules
        if "namespace" in request.query:
            rules = [r for r in rules if r.namespace == request.query["namespace"]]
        return _json({"faults": [r.to_json() for r in rules]})

    async def add_fault(self, request: web.Request) -> web.Response:
        """``{"namespace": ns or null, "selector": "a=b,c", "fault": "oomkilled", "count": 1}``."""
        body = await _body(request)
        unknown = set(body) - {"namespace", "selector", "fault", "count"}
        if unknown or not isinstance(body.get("fault"), str) or not isinstance(body.get("selector", ""), str):
            raise ApiError(400, "BadRequest", 'expected {"namespace": str|null, "selector": str, "fault": str, '
                           f'"count": int}}, got {body!r}')
        rule = self.kubelet.add_fault_rule(body.get("namespace"), body.get("selector", ""), body["fault"],
                                           body.get("count", 1))
        return _json(rule.to_json(), 201)

    async def clear_faults(self, request: web.Request) -> web.Response:
        """All rules, or ``?namespace=`` only that namespace's, or ``?id=`` one rule."""
        query, rules = request.query, self.kubelet.fault_rules
        keep = [r for r in rules if ("namespace" in query and r.namespace != query["namespace"])
                or ("id" in query and str(r.id) != query["id"])]
        self.kubelet.fault_rules = keep
        return _json({"removed": len(rules) - len(keep)})

    async def emulator_not_found(self, request: web.Request) -> web.Response:
        raise ApiError(404, "NotFound", f"no emulator endpoint {request.method} {request.path}")

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
