"""In-memory object store with the API server's bookkeeping: names, uids, resourceVersions,
defaulting, selectors, events, and the error shapes (Status bodies) the kubernetes client parses.

Single-threaded by design: the aiohttp handlers and the controller share one event loop, so the
store needs no locks and every change is seen in the order it was made.
"""

from __future__ import annotations

import copy
import functools
import itertools
import re
import secrets
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Callable

Obj = dict[str, Any]


@dataclass(frozen=True)
class Resource:
    """One REST resource: where it lives in the URL space and what kind its objects are."""

    group: str
    version: str
    plural: str
    kind: str
    namespaced: bool = True

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def qualified(self) -> str:  # "jobs.batch", as the real API names resources in messages
        return f"{self.plural}.{self.group}" if self.group else self.plural


RESOURCES = [
    Resource("", "v1", "pods", "Pod"), Resource("", "v1", "events", "Event"),
    Resource("", "v1", "secrets", "Secret"), Resource("", "v1", "configmaps", "ConfigMap"),
    Resource("", "v1", "serviceaccounts", "ServiceAccount"), Resource("", "v1", "services", "Service"),
    Resource("", "v1", "persistentvolumeclaims", "PersistentVolumeClaim"),
    Resource("", "v1", "namespaces", "Namespace", namespaced=False),
    Resource("", "v1", "nodes", "Node", namespaced=False),
    Resource("batch", "v1", "jobs", "Job"), Resource("batch", "v1", "cronjobs", "CronJob"),
]
BY_PATH = {(r.group, r.version, r.plural): r for r in RESOURCES}
BY_KIND = {r.kind: r for r in RESOURCES}


@dataclass
class ApiError(Exception):
    """An error the server answers with a ``Status`` body, as the real API server does."""

    code: int
    reason: str
    message: str
    details: dict[str, Any] = field(default_factory=dict)

    def body(self) -> Obj:
        return {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                "message": self.message, "reason": self.reason, "details": self.details, "code": self.code}


def now(at: float | None = None) -> str:
    """RFC 3339 in UTC with second precision, as metav1.Time serialises (``at``: epoch seconds)."""
    moment = datetime.now(timezone.utc) if at is None else datetime.fromtimestamp(at, timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def dig(obj: Any, path: str) -> Any:
    """Value at a dotted field path (``metadata.name``, ``metadata.labels['app']``) or None."""
    for part in re.findall(r"[^.\[\]]+|\['[^']*'\]", path):
        key = part[2:-2] if part.startswith("['") else part
        obj = obj.get(key) if isinstance(obj, dict) else None
    return obj


_TERM = re.compile(r"\s*(!?)([\w./-]+)\s*(?:(==|=|!=)\s*([\w.-]*)|\s+(in|notin)\s*\(([^)]*)\))?\s*(?:,|$)")


def label_selector_matches(selector: str, labels: dict[str, str]) -> bool:
    """Equality-based (``a=b``, ``a!=b``) and set-based (``a in (x,y)``, ``a notin (x)``, ``a``,
    ``!a``) label selectors, as kubectl and the client send them."""
    return compile_label_selector(selector)(labels)


@functools.lru_cache(maxsize=1024)
def compile_label_selector(selector: str) -> Callable[[dict[str, str]], bool]:
    """Parse a label selector once (400 ``BadRequest`` if it does not parse) into a predicate on a
    labels dict: a list call tests every object against the same selector."""
    terms: list[Callable[[dict[str, str]], bool]] = []
    pos, selector = 0, selector.strip()
    while pos < len(selector):
        m = _TERM.match(selector, pos)
        if not m or m.end() == pos:
            raise ApiError(400, "BadRequest", f"unable to parse requirement: {selector[pos:]!r}")
        pos = m.end()
        neg, key, op, value, set_op, values = m.groups()
        if set_op:
            members = frozenset(v.strip() for v in values.split(","))
            terms.append((lambda k, m_: lambda labels: labels.get(k) in m_)(key, members) if set_op == "in"
                         else (lambda k, m_: lambda labels: labels.get(k) not in m_)(key, members))
        elif op:
            terms.append((lambda k, v: lambda labels: labels.get(k) == v)(key, value) if op in ("=", "==")
                         else (lambda k, v: lambda labels: labels.get(k) != v)(key, value))
        else:
            terms.append((lambda k: lambda labels: k not in labels)(key) if neg
                         else (lambda k: lambda labels: k in labels)(key))
    return lambda labels: all(term(labels) for term in terms)


def field_selector_matches(selector: str, obj: Obj) -> bool:
    for term in filter(None, (t.strip() for t in selector.split(","))):
        m = re.fullmatch(r"([\w.\[\]']+)\s*(==|=|!=)\s*(.*)", term)
        if not m:
            raise ApiError(400, "BadRequest", f"invalid field selector: {term!r}")
        path, op, want = m.groups()
        have = dig(obj, path)
        have = "" if have is None else str(have)
        if (have == want) != (op != "!="):
            return False
    return True


class Store:
    """Objects keyed by (resource, namespace, name). ``on_create`` and ``on_delete`` hooks let the
    controller react; a delete hook that returns True finishes the removal itself later (graceful
    pod termination), as finalizers and kubelets do on a cluster."""

    def __init__(self) -> None:
        self.objects: dict[tuple[Resource, str, str], Obj] = {}
        # The same objects by (resource, namespace): a list in one namespace scans only its own
        # kind there, not every event and pod of every test (thousands of objects in a long run).
        self.by_namespace: dict[tuple[Resource, str], dict[str, Obj]] = {}
        self._rv = itertools.count(1)
        self.admit: Callable[[Resource, Obj], None] | None = None
        self.on_create: list[Callable[[Resource, Obj], None]] = []
        self.on_delete: dict[str, Callable[[Obj, Obj], bool]] = {}
        for ns in ("default", "kube-system", "kube-public"):
            self.create(BY_KIND["Namespace"], None, {"metadata": {"name": ns}})

    def _stamp(self, obj: Obj) -> Obj:
        obj["metadata"]["resourceVersion"] = str(next(self._rv))
        return obj

    def get(self, res: Resource, ns: str | None, name: str) -> Obj:
        obj = self.objects.get((res, ns or "", name))
        if obj is None:
            raise ApiError(404, "NotFound", f'{res.qualified} "{name}" not found',
                           {"name": name, "group": res.group, "kind": res.plural})
        return obj

    def list(self, res: Resource, ns: str | None, label_selector: str = "",
             field_selector: str = "") -> list[Obj]:
        if ns is not None or not res.namespaced:
            found = list(self.by_namespace.get((res, ns or ""), {}).values())
        else:
            found = [o for (r, _), objs in self.by_namespace.items() if r == res for o in objs.values()]
        if label_selector.strip():
            matches = compile_label_selector(label_selector)
            found = [o for o in found if matches(o["metadata"].get("labels") or {})]
        if field_selector.strip():
            found = [o for o in found if field_selector_matches(field_selector, o)]
        return found

    def _insert(self, res: Resource, ns: str, name: str, obj: Obj) -> None:
        self.objects[(res, ns, name)] = obj
        self.by_namespace.setdefault((res, ns), {})[name] = obj

    def create(self, res: Resource, ns: str | None, body: Obj, trusted: bool = False) -> Obj:
        """``trusted``: written by the emulator itself (its events), so admission is skipped."""
        obj = copy.deepcopy(body)
        meta = obj.setdefault("metadata", {})
        if not meta.get("name") and meta.get("generateName"):
            meta["name"] = meta["generateName"] + secrets.token_hex(3)[:5]
        name = meta.get("name")
        if not name:
            raise ApiError(422, "Invalid", f"{res.kind} in version \"{res.version}\" is invalid: "
                           "metadata.name: Required value: name or generateName is required")
        if res.namespaced:
            ns = ns or meta.get("namespace") or "default"
            if (BY_KIND["Namespace"], "", ns) not in self.objects:
                raise ApiError(404, "NotFound", f'namespaces "{ns}" not found',
                               {"name": ns, "kind": "namespaces"})
            meta["namespace"] = ns
        if (res, ns or "", name) in self.objects:
            raise ApiError(409, "AlreadyExists", f'{res.qualified} "{name}" already exists',
                           {"name": name, "group": res.group, "kind": res.plural})
        obj.update(apiVersion=res.api_version, kind=res.kind)
        meta.update(uid=str(uuid.uuid4()), creationTimestamp=now(), generation=1)
        meta.pop("deletionTimestamp", None)
        if res.kind == "Namespace":
            obj["status"] = {"phase": "Active"}
        if self.admit and not trusted:
            self.admit(res, obj)
        self._insert(res, ns or "", name, self._stamp(obj))
        for hook in self.on_create:
            hook(res, obj)
        return obj

    def update(self, res: Resource, ns: str | None, name: str, body: Obj, status_only: bool) -> Obj:
        """PUT: replace the spec (or, for the status subresource, only the status)."""
        old = self.get(res, ns, name)
        new = copy.deepcopy(old)
        if status_only:
            new["status"] = copy.deepcopy(body.get("status") or {})
        else:
            new = {**copy.deepcopy(body), "status": old.get("status"), "apiVersion": old["apiVersion"],
                   "kind": old["kind"]}
            keep = {k: old["metadata"][k] for k in ("uid", "creationTimestamp", "namespace", "name",
                                                   "generation", "deletionTimestamp") if k in old["metadata"]}
            new["metadata"] = {**(body.get("metadata") or {}), **keep}
            if self.admit:
                self.admit(res, new)
            if new.get("spec") != old.get("spec"):
                new["metadata"]["generation"] = old["metadata"].get("generation", 1) + 1
        old.clear()  # keep the stored dict's identity: the controller holds references to it
        old.update(new)
        return self._stamp(old)

    def patch(self, res: Resource, ns: str | None, name: str, patch: Obj, status_only: bool) -> Obj:
        """Merge patch (RFC 7386); strategic merge patches are applied the same way, so lists
        in a patch replace the stored list instead of merging by key."""
        old = self.get(res, ns, name)
        return self.update(res, ns, name, merge_patch(copy.deepcopy(old), patch), status_only)

    def set_status(self, obj: Obj, **status: Any) -> None:
        """Controller-side status write (no copy: the controller owns these objects)."""
        obj.setdefault("status", {}).update(status)
        self._stamp(obj)

    def delete(self, res: Resource, ns: str | None, name: str, options: Obj) -> Obj:
        obj = self.get(res, ns, name)
        if obj["metadata"].get("deletionTimestamp"):
            return obj
        obj["metadata"]["deletionTimestamp"] = now()
        self._stamp(obj)
        hook = self.on_delete.get(res.kind)
        if not (hook and hook(obj, options)):
            self.remove(obj)
        if res.kind == "Namespace":
            children = [(r, child) for (r, n), objs in self.by_namespace.items() if n == name and r.namespaced
                        for child in objs]
            for r, child in children:
                if (r, name, child) in self.objects:  # cascades may have removed it already
                    self.delete(r, name, child, {"propagationPolicy": "Background"})
        return obj

    def remove(self, obj: Obj) -> None:
        res = BY_KIND[obj["kind"]]
        ns, name = obj["metadata"].get("namespace", "") if res.namespaced else "", obj["metadata"]["name"]
        if self.objects.get((res, ns, name)) is not obj:
            return  # already removed (or a different object now has the name)
        del self.objects[(res, ns, name)]
        objs = self.by_namespace[(res, ns)]
        del objs[name]
        if not objs:
            del self.by_namespace[(res, ns)]

    def event(self, obj: Obj, reason: str, message: str, type_: str = "Normal",
              component: str = "kubelet") -> None:
        meta = obj["metadata"]
        if (BY_KIND["Namespace"], "", meta["namespace"]) not in self.objects:
            return  # the namespace is being deleted; a cluster drops these events too
        self.create(BY_KIND["Event"], meta["namespace"], {
            "metadata": {"name": f"{meta['name']}.{secrets.token_hex(8)}"},
            "involvedObject": {"kind": obj["kind"], "apiVersion": obj["apiVersion"], "name": meta["name"],
                               "namespace": meta["namespace"], "uid": meta["uid"]},
            "reason": reason, "message": message, "type": type_, "count": 1,
            "source": {"component": component}, "reportingComponent": component,
            "firstTimestamp": now(), "lastTimestamp": now()}, trusted=True)


def merge_patch(target: Any, patch: Any) -> Any:
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    target = target if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            target.pop(key, None)
        else:
            target[key] = merge_patch(target.get(key), value)
    return target
