"""Scheduler + kubelet for one emulated node: every Pod's containers run as local processes.

The image is ignored: ``command`` + ``args`` run in the emulator's own Python environment (its
environment variables stand in for the image's), in the container's ``workingDir`` or the
emulator's work directory. stdout and stderr become the container log. Pod status moves
Pending -> Running -> Succeeded/Failed with the same fields a kubelet writes, and faults are
injected from the pod annotation ``emulator.flowassets.io/fail`` or from fault rules registered at
runtime (``POST /_emulator/faults``: the next K pods whose labels match a selector; see README.md).

Every pod that was ever created keeps a record in ``Kubelet.history`` (``GET /_emulator/pods``):
when it was scheduled, when its processes started and exited (epoch seconds as floats), how it
ended and which fault it got. The record outlives the pod object, so a test can count the pods
that ran at once after the pods are deleted.
"""

from __future__ import annotations

import asyncio
import base64
import itertools
import logging
import math
import os
import re
import signal
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kubernetes.utils.quantity import parse_quantity

from .store import BY_KIND, ApiError, Obj, Store, compile_label_selector, dig, now

FAULT_ANNOTATION = "emulator.flowassets.io/fail"
FAULTS = ("oomkilled", "oomkilled:S", "unschedulable", "imagepull", "evicted", "evicted:S", "exit:N")
# Written by the kubelet on every pod it starts: epoch seconds as a float ("1712345678.123456"),
# the precise moments status.startTime / startedAt / finishedAt give to the second.
STARTED_ANNOTATION = "emulator.flowassets.io/started-at"
FINISHED_ANNOTATION = "emulator.flowassets.io/finished-at"
NODE = "emulator-node"
POD_IP = "127.0.0.1"


@dataclass(frozen=True)
class NodeSettings:
    workdir: Path
    state_dir: Path
    cpu: str = "16"
    memory: str = "64Gi"
    fault_delay_s: float = 0.5  # how long an OOM/evicted container runs before it is killed


def parse_fault(value: str) -> tuple[str, float | None]:
    """``oomkilled[:S]``, ``evicted[:S]`` (killed after S seconds, default ``--fault-delay-seconds``),
    ``exit:N`` (0..255), ``unschedulable``, ``imagepull`` -> (kind, S or N or None); ValueError else."""
    kind, sep, arg = value.strip().partition(":")
    try:
        if kind in ("unschedulable", "imagepull") and not sep:
            return kind, None
        if kind in ("oomkilled", "evicted"):
            delay = float(arg) if sep else None
            if delay is None or (math.isfinite(delay) and delay >= 0):
                return kind, delay
        if kind == "exit" and sep and 0 <= int(arg) <= 255:
            return kind, int(arg)
    except ValueError:
        pass
    raise ValueError(f"unknown fault {value!r}: expected one of {', '.join(FAULTS)}")


@dataclass
class FaultRule:
    """``fault`` for the next ``count`` pods created in ``namespace`` (None: any) whose labels
    match ``selector``; each pod it hits is listed, and the rule is used up after ``count``."""

    id: int
    namespace: str | None
    selector: str
    fault: str
    count: int
    created_at: float = field(default_factory=time.time)
    hits: list[Obj] = field(default_factory=list)

    @property
    def remaining(self) -> int:
        return self.count - len(self.hits)

    def matches(self, pod: Obj) -> bool:
        meta = pod["metadata"]
        return self.remaining > 0 and self.namespace in (None, meta["namespace"]) \
            and compile_label_selector(self.selector)(meta.get("labels") or {})

    def to_json(self) -> Obj:
        return {"id": self.id, "namespace": self.namespace, "selector": self.selector, "fault": self.fault,
                "count": self.count, "remaining": self.remaining, "createdAt": self.created_at,
                "hits": list(self.hits)}


@dataclass
class PodRun:
    """What the kubelet knows about one pod: its processes, its fault and when it finished."""

    pod: Obj
    record: Obj = field(default_factory=dict)  # the pod's entry in Kubelet.history
    fault: str | None = None
    procs: list[asyncio.subprocess.Process] = field(default_factory=list)
    done: asyncio.Event = field(default_factory=asyncio.Event)
    task: asyncio.Task | None = None
    phase: str = "Pending"


class ContainerConfigError(Exception):
    pass


class Kubelet:
    def __init__(self, store: Store, settings: NodeSettings) -> None:
        self.store, self.settings = store, settings
        self.runs: dict[str, PodRun] = {}
        self.history: dict[str, Obj] = {}  # pod uid -> record, in creation order, never pruned
        self.fault_rules: list[FaultRule] = []
        self._rule_ids = itertools.count(1)
        self.base_env = {k: v for k, v in os.environ.items() if not k.startswith("KUBERNETES_")}
        store.create(BY_KIND["Node"], None, {"metadata": {"name": NODE, "labels": {
            "kubernetes.io/hostname": NODE, "kubernetes.io/os": "linux", "kubernetes.io/arch": "amd64"}},
            "status": {"capacity": {"cpu": settings.cpu, "memory": settings.memory, "pods": "110"},
                       "allocatable": {"cpu": settings.cpu, "memory": settings.memory, "pods": "110"},
                       "conditions": [{"type": "Ready", "status": "True", "reason": "KubeletReady"}],
                       "addresses": [{"type": "InternalIP", "address": POD_IP}]}})
        store.on_create.append(self._created)
        store.on_delete["Pod"] = self._delete
        store.on_delete["Namespace"] = self._namespace_deleted

    def log_path(self, pod: Obj, container: str) -> Path:
        meta = pod["metadata"]
        return self.settings.state_dir / "logs" / meta["namespace"] / meta["name"] / f"{container}.log"

    def add_fault_rule(self, namespace: str | None, selector: str, fault: str, count: int = 1) -> FaultRule:
        """Register a rule (400 ``BadRequest`` for a bad fault, selector or count)."""
        try:
            parse_fault(fault)
        except ValueError as exc:
            raise ApiError(400, "BadRequest", str(exc)) from None
        compile_label_selector(selector)
        if isinstance(count, bool) or not isinstance(count, int) or count < 1:
            raise ApiError(400, "BadRequest", f"count must be a positive integer, not {count!r}")
        rule = FaultRule(next(self._rule_ids), namespace or None, selector, fault.strip(), count)
        self.fault_rules.append(rule)
        return rule

    def _fault_for(self, pod: Obj) -> tuple[str | None, int | None]:
        """A matching rule wins over the annotation (and is used up by this pod)."""
        for rule in self.fault_rules:
            if rule.matches(pod):
                meta = pod["metadata"]
                rule.hits.append({"name": meta["name"], "namespace": meta["namespace"], "uid": meta["uid"]})
                return rule.fault, rule.id
        annotation = (pod["metadata"].get("annotations") or {}).get(FAULT_ANNOTATION)
        try:
            return (annotation, None) if annotation and parse_fault(annotation) else (None, None)
        except ValueError:
            return None, None  # an unknown value injects nothing, as before rules existed

    def _namespace_deleted(self, namespace: Obj, options: Obj) -> bool:
        name = namespace["metadata"]["name"]
        self.fault_rules = [r for r in self.fault_rules if r.namespace != name]
        return False

    def _created(self, res: Any, pod: Obj) -> None:
        if res.kind == "Pod":
            meta = pod["metadata"]
            fault, rule = self._fault_for(pod)
            owner = next((o["name"] for o in meta.get("ownerReferences") or [] if o.get("kind") == "Job"), None)
            record = self.history[meta["uid"]] = {
                "uid": meta["uid"], "name": meta["name"], "namespace": meta["namespace"],
                "labels": dict(meta.get("labels") or {}), "job": owner, "createdAt": time.time(),
                "scheduledAt": None, "startedAt": None, "finishedAt": None, "deletedAt": None,
                "phase": "Pending", "reason": None, "exitCode": None, "containers": {},
                "fault": fault, "faultRule": rule}
            run = self.runs[meta["uid"]] = PodRun(pod, record, fault)
            run.task = asyncio.get_running_loop().create_task(self._run(run))
            run.task.add_done_callback(_log_crash)

    def _delete(self, pod: Obj, options: Obj) -> bool:
        """Graceful termination: SIGTERM, then SIGKILL after the grace period; the pod object is
        removed once its processes are gone. Returns True while processes still run."""
        run = self.runs.get(pod["metadata"]["uid"])
        if run and run.record.get("deletedAt") is None:
            run.record["deletedAt"] = time.time()
        live = [p for p in run.procs if p.returncode is None] if run else []
        if not live:
            if run:
                if run.task and not run.task.done():
                    run.task.cancel()
                run.phase = run.phase if run.phase in ("Succeeded", "Failed") else "Failed"
                run.record["phase"] = run.phase
                run.done.set()
            return False
        grace = options.get("gracePeriodSeconds")
        grace = pod["spec"].get("terminationGracePeriodSeconds", 30) if grace is None else grace
        asyncio.get_running_loop().create_task(self._terminate(live, float(grace)))
        return True

    async def _terminate(self, procs: list[asyncio.subprocess.Process], grace: float) -> None:
        for proc in procs:
            _signal_group(proc, signal.SIGTERM if grace > 0 else signal.SIGKILL)
        await asyncio.wait([asyncio.ensure_future(p.wait()) for p in procs], timeout=grace or None)
        for proc in procs:
            if proc.returncode is None:
                _signal_group(proc, signal.SIGKILL)

    async def _run(self, run: PodRun) -> None:
        pod, record = run.pod, run.record
        spec, meta = pod["spec"], pod["metadata"]
        fault, fault_arg = parse_fault(run.fault) if run.fault else (None, None)
        self.store.set_status(pod, phase="Pending", conditions=[])
        try:
            unschedulable = self._unschedulable(spec, fault)
            if unschedulable:
                record["reason"] = "Unschedulable"
                self._condition(pod, "PodScheduled", "False", "Unschedulable", unschedulable)
                self.store.event(pod, "FailedScheduling", unschedulable, "Warning", "default-scheduler")
                return  # stays Pending until deleted, like a pod no node can take
            spec["nodeName"] = NODE
            self._condition(pod, "PodScheduled", "True")
            record["scheduledAt"] = time.time()
            self.store.set_status(pod, hostIP=POD_IP, hostIPs=[{"ip": POD_IP}], startTime=now(record["scheduledAt"]))
            self.store.event(pod, "Scheduled", f"Successfully assigned {meta['namespace']}/{meta['name']} "
                             f"to {NODE}", component="default-scheduler")
            containers = spec["containers"]
            if fault == "imagepull":
                record["reason"] = "ErrImagePull"
                await self._image_pull_failure(pod, containers)
                return
            try:
                plans = [self._plan(pod, c) for c in containers]
            except ContainerConfigError as exc:
                record["reason"] = "CreateContainerConfigError"
                self.store.set_status(pod, containerStatuses=[
                    _cstatus(c, {"waiting": {"reason": "CreateContainerConfigError", "message": str(exc)}})
                    for c in containers])
                self.store.event(pod, "Failed", f"Error: {exc}", "Warning")
                return
            if fault == "exit":
                plans = [(_exit_argv(run.fault), env, cwd) for _, env, cwd in plans]
            started = await self._start(run, containers, plans)
            waits = [asyncio.ensure_future(_wait(o)) for o in started]
            if fault in ("oomkilled", "evicted"):
                # killed after the delay, or reported killed as soon as it exits by itself
                await asyncio.wait(waits, timeout=self.settings.fault_delay_s if fault_arg is None else fault_arg)
                for proc in run.procs:
                    _signal_group(proc, signal.SIGKILL)
            outcomes = list(await asyncio.gather(*waits))
            self._finish(run, containers, outcomes, fault)
        finally:
            if record["startedAt"] is not None and record["finishedAt"] is None:
                record["finishedAt"] = time.time()  # cancelled by a delete after its processes exited
            record["phase"] = run.phase
            if run.phase in ("Succeeded", "Failed"):
                run.done.set()
            if meta.get("deletionTimestamp"):
                self.store.remove(pod)

    def _unschedulable(self, spec: Obj, fault: str | None) -> str | None:
        if fault == "unschedulable":
            return "0/1 nodes are available: 1 Insufficient cpu."
        node = self.store.get(BY_KIND["Node"], None, NODE)
        labels = node["metadata"]["labels"]
        if any(labels.get(k) != v for k, v in (spec.get("nodeSelector") or {}).items()):
            return "0/1 nodes are available: 1 node(s) didn't match Pod's node affinity/selector."
        wanted: dict[str, Any] = {}
        for container in spec["containers"]:
            for name, value in ((container.get("resources") or {}).get("requests") or {}).items():
                wanted[name] = wanted.get(name, 0) + parse_quantity(value)
        capacity = node["status"]["allocatable"]
        short = [name for name, amount in sorted(wanted.items())
                 if amount > parse_quantity(capacity.get(name, 0)) and name != "ephemeral-storage"]
        return ("0/1 nodes are available: " + ", ".join(f"1 Insufficient {n}" for n in short) + ".") \
            if short else None

    async def _image_pull_failure(self, pod: Obj, containers: list[Obj]) -> None:
        image = containers[0].get("image")
        message = (f'Failed to pull image "{image}": rpc error: code = NotFound desc = failed to pull and '
                   f'unpack image "{image}": not found')
        self.store.set_status(pod, containerStatuses=[
            _cstatus(c, {"waiting": {"reason": "ErrImagePull", "message": message}}) for c in containers])
        self.store.event(pod, "Failed", message, "Warning")
        await asyncio.sleep(self.settings.fault_delay_s)
        backoff = f'Back-off pulling image "{image}"'
        self.store.set_status(pod, containerStatuses=[
            _cstatus(c, {"waiting": {"reason": "ImagePullBackOff", "message": backoff}}) for c in containers])
        self.store.event(pod, "BackOff", backoff, "Warning")

    def _plan(self, pod: Obj, container: Obj) -> tuple[list[str], dict[str, str], str]:
        env = {**self.base_env, "HOSTNAME": pod["metadata"]["name"]}
        for source in container.get("envFrom") or []:
            ref = source.get("configMapRef") or source.get("secretRef")
            data = self._lookup("Secret" if "secretRef" in source else "ConfigMap", pod, ref, None)
            env.update({source.get("prefix", "") + k: v for k, v in (data or {}).items()})
        for var in container.get("env") or []:
            value = var.get("value")
            source = var.get("valueFrom")
            if source and "fieldRef" in source:
                path = source["fieldRef"]["fieldPath"]
                value = POD_IP if path in ("status.podIP", "status.hostIP") else dig(pod, path)
            elif source and "resourceFieldRef" in source:
                value = _resource_field(container, source["resourceFieldRef"])
            elif source:
                kind = "Secret" if "secretKeyRef" in source else "ConfigMap"
                ref = source.get("secretKeyRef") or source.get("configMapKeyRef")
                value = self._lookup(kind, pod, ref, ref["key"])
            else:
                value = _expand(value or "", env)
            if value is not None:
                env[var["name"]] = str(value)
        argv = [_expand(a, env) for a in (container.get("command") or []) + (container.get("args") or [])]
        workdir = container.get("workingDir")
        return argv, env, workdir if workdir and Path(workdir).is_dir() else str(self.settings.workdir)

    def _lookup(self, kind: str, pod: Obj, ref: Obj, key: str | None) -> Any:
        try:
            obj = self.store.get(BY_KIND[kind], pod["metadata"]["namespace"], ref["name"])
        except ApiError:
            if ref.get("optional"):
                return None
            raise ContainerConfigError(f'{kind.lower()} "{ref["name"]}" not found') from None
        data = dict(obj.get("data") or {})
        if kind == "Secret":
            data = {k: base64.b64decode(v).decode() for k, v in data.items()}
        if key is None:
            return data
        if key not in data and not ref.get("optional"):
            raise ContainerConfigError(f'couldn\'t find key {key} in {kind} {pod["metadata"]["namespace"]}'
                                       f'/{ref["name"]}')
        return data.get(key)

    async def _start(self, run: PodRun, containers: list[Obj],
                     plans: list[tuple[list[str], dict[str, str], str]]) -> list[Any]:
        started: list[Any] = []
        starts: list[float] = []
        for container, (argv, env, cwd) in zip(containers, plans):
            log = self.log_path(run.pod, container["name"])
            log.parent.mkdir(parents=True, exist_ok=True)
            starts.append(time.time())  # before the exec: the interval covers the whole process
            try:
                if not argv:
                    raise FileNotFoundError("the emulator cannot run an image's entrypoint: set command")
                with log.open("ab") as out:
                    proc = await asyncio.create_subprocess_exec(
                        *argv, stdout=out, stderr=asyncio.subprocess.STDOUT, stdin=asyncio.subprocess.DEVNULL,
                        env=env, cwd=cwd, start_new_session=True)
                run.procs.append(proc)
                started.append(proc)
            except OSError as exc:  # as a runtime reports "executable file not found in $PATH"
                started.append(f"exec: {exc}")
        run.phase = "Running"
        run.record.update(phase="Running", startedAt=starts[0], containers={
            c["name"]: {"startedAt": t, "finishedAt": None, "exitCode": None, "reason": None}
            for c, t in zip(containers, starts)})
        _annotate(run.pod, STARTED_ANNOTATION, starts[0])
        self.store.set_status(run.pod, phase="Running", podIP=POD_IP, podIPs=[{"ip": POD_IP}],
                              containerStatuses=[_cstatus(c, {"running": {"startedAt": now(t)}}, ready=True)
                                                 for c, t in zip(containers, starts)])
        for kind in ("Initialized", "ContainersReady", "Ready"):
            self._condition(run.pod, kind, "True")
        for container in containers:
            self.store.event(run.pod, "Started", f"Started container {container['name']}")
        return started

    def _finish(self, run: PodRun, containers: list[Obj], outcomes: list[tuple[int | str, float]],
                fault: str | None) -> None:
        pod, states, record = run.pod, [], run.record
        for container, (outcome, finished) in zip(containers, outcomes):
            if isinstance(outcome, str):
                code, reason, message = 128, "StartError", outcome
            else:
                code = 128 - outcome if outcome < 0 else outcome  # killed by signal N -> 128+N
                reason, message = ("Completed" if code == 0 else "Error"), None
            if fault in ("oomkilled", "evicted"):
                code = 137  # SIGKILLed, even if the process had exited before the delay
            if fault == "oomkilled":
                reason = "OOMKilled"
            started = record["containers"][container["name"]]["startedAt"]
            term = {"exitCode": code, "reason": reason, "startedAt": now(started),
                    "finishedAt": now(finished), "containerID": f"emulator://{pod['metadata']['uid']}"}
            if message:
                term["message"] = message
            if fault == "evicted":
                term.update(reason="ContainerStatusUnknown",
                            message="The container could not be located when the pod was terminated")
            record["containers"][container["name"]].update(finishedAt=finished, exitCode=code, reason=term["reason"])
            states.append(_cstatus(container, {"terminated": term}))
        run.phase = "Succeeded" if all(s["state"]["terminated"]["exitCode"] == 0 for s in states) \
            and fault != "evicted" else "Failed"
        failing = [s["state"]["terminated"] for s in states if s["state"]["terminated"]["exitCode"] != 0]
        first = (failing or [states[0]["state"]["terminated"]])[0]
        record.update(phase=run.phase, finishedAt=max(t for _, t in outcomes), exitCode=first["exitCode"],
                      reason="Evicted" if fault == "evicted" else first["reason"])
        _annotate(pod, FINISHED_ANNOTATION, record["finishedAt"])
        extra = {}
        if fault == "evicted":
            extra = {"reason": "Evicted", "message": "The node was low on resource: memory. Threshold "
                     "quantity: 100Mi, available: 0Ki."}
            self.store.event(pod, "Evicted", extra["message"], "Warning")
        elif fault == "oomkilled":
            self.store.event(pod, "OOMKilling", "Memory cgroup out of memory: Killed process", "Warning")
        self.store.set_status(pod, phase=run.phase, containerStatuses=states, **extra)
        for kind in ("ContainersReady", "Ready"):
            self._condition(pod, kind, "False", "PodCompleted" if run.phase == "Succeeded" else "PodFailed")

    def _condition(self, pod: Obj, kind: str, value: str, reason: str | None = None,
                   message: str | None = None) -> None:
        conditions = [c for c in pod["status"].get("conditions", []) if c["type"] != kind]
        condition = {"type": kind, "status": value, "lastTransitionTime": now(), "lastProbeTime": None}
        condition.update({k: v for k, v in (("reason", reason), ("message", message)) if v})
        self.store.set_status(pod, conditions=[*conditions, condition])


def _log_crash(task: asyncio.Task) -> None:
    """An emulator bug in a pod's task must show in emulator.log, not leave the pod Pending silently."""
    if not task.cancelled() and task.exception() is not None:
        logging.getLogger(__name__).error("pod task failed", exc_info=task.exception())


async def _wait(started: asyncio.subprocess.Process | str) -> tuple[int | str, float]:
    """(exit status or start error, when the kubelet saw it end)."""
    if isinstance(started, str):
        return started, time.time()
    return await started.wait(), time.time()


def _annotate(pod: Obj, key: str, at: float) -> None:
    pod["metadata"].setdefault("annotations", {})[key] = repr(at)  # round-trips to the record's float


def _exit_argv(fault: str) -> list[str]:
    """``exit:N``: the container starts but its entrypoint fails at once with code N, as an image
    missing a dependency does; it writes one line to its log first."""
    code = int(fault.split(":", 1)[1])
    text = f"emulator fault {fault}: the container's entrypoint exits with code {code}"
    return [sys.executable, "-c", f"import sys; print({text!r}, file=sys.stderr); sys.exit({code})"]


def _cstatus(container: Obj, state: Obj, ready: bool = False) -> Obj:
    return {"name": container["name"], "image": container.get("image", ""), "imageID": "",
            "ready": ready, "restartCount": 0, "started": "running" in state, "state": state}


def _signal_group(proc: asyncio.subprocess.Process, sig: int) -> None:
    try:
        os.killpg(proc.pid, sig)
    except ProcessLookupError:
        pass


def _expand(text: str, env: dict[str, str]) -> str:
    """Kubernetes $(VAR) expansion: unknown references stay as written, $$ escapes."""
    return re.sub(r"\$\$|\$\(([A-Za-z_][A-Za-z0-9_.-]*)\)",
                  lambda m: "$" if m.group(0) == "$$" else env.get(m.group(1), m.group(0)), text)


def _resource_field(container: Obj, ref: Obj) -> str:
    section, _, name = ref["resource"].partition(".")
    value = ((container.get("resources") or {}).get(section) or {}).get(name)
    if value is None:
        return "0"
    amount = parse_quantity(value) / parse_quantity(ref.get("divisor", "1"))
    return str(math.ceil(amount))
