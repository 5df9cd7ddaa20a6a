"""Scheduler + kubelet for one emulated node: every Pod's containers run as local processes.

The image is ignored: ``command`` + ``args`` run in the emulator's own Python environment (its
environment variables stand in for the image's), in the container's ``workingDir`` or the
emulator's work directory. stdout and stderr become the container log. Pod status moves
Pending -> Running -> Succeeded/Failed with the same fields a kubelet writes, and faults are
injected from the pod annotation ``emulator.flowassets.io/fail`` (see README.md).
"""

from __future__ import annotations

import asyncio
import base64
import math
import os
import re
import signal
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kubernetes.utils.quantity import parse_quantity

from .store import BY_KIND, ApiError, Obj, Store, dig, now

FAULT_ANNOTATION = "emulator.flowassets.io/fail"
FAULTS = ("oomkilled", "unschedulable", "imagepull", "evicted", "exit:N")
NODE = "emulator-node"
POD_IP = "127.0.0.1"


@dataclass(frozen=True)
class NodeSettings:
    workdir: Path
    state_dir: Path
    cpu: str = "16"
    memory: str = "64Gi"
    fault_delay_s: float = 0.5  # how long an OOM/evicted container runs before it is killed


@dataclass
class PodRun:
    """What the kubelet knows about one pod: its processes and when it finished."""

    pod: Obj
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
        self.base_env = {k: v for k, v in os.environ.items() if not k.startswith("KUBERNETES_")}
        store.create(BY_KIND["Node"], None, {"metadata": {"name": NODE, "labels": {
            "kubernetes.io/hostname": NODE, "kubernetes.io/os": "linux", "kubernetes.io/arch": "amd64"}},
            "status": {"capacity": {"cpu": settings.cpu, "memory": settings.memory, "pods": "110"},
                       "allocatable": {"cpu": settings.cpu, "memory": settings.memory, "pods": "110"},
                       "conditions": [{"type": "Ready", "status": "True", "reason": "KubeletReady"}],
                       "addresses": [{"type": "InternalIP", "address": POD_IP}]}})
        store.on_create.append(self._created)
        store.on_delete["Pod"] = self._delete

    def log_path(self, pod: Obj, container: str) -> Path:
        meta = pod["metadata"]
        return self.settings.state_dir / "logs" / meta["namespace"] / meta["name"] / f"{container}.log"

    def _created(self, res: Any, pod: Obj) -> None:
        if res.kind == "Pod":
            run = self.runs[pod["metadata"]["uid"]] = PodRun(pod)
            run.task = asyncio.get_running_loop().create_task(self._run(run))

    def _delete(self, pod: Obj, options: Obj) -> bool:
        """Graceful termination: SIGTERM, then SIGKILL after the grace period; the pod object is
        removed once its processes are gone. Returns True while processes still run."""
        run = self.runs.get(pod["metadata"]["uid"])
        live = [p for p in run.procs if p.returncode is None] if run else []
        if not live:
            if run:
                if run.task and not run.task.done():
                    run.task.cancel()
                run.phase = run.phase if run.phase in ("Succeeded", "Failed") else "Failed"
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
        pod = run.pod
        spec, meta = pod["spec"], pod["metadata"]
        fault = (meta.get("annotations") or {}).get(FAULT_ANNOTATION)
        self.store.set_status(pod, phase="Pending", conditions=[])
        try:
            unschedulable = self._unschedulable(spec, fault)
            if unschedulable:
                self._condition(pod, "PodScheduled", "False", "Unschedulable", unschedulable)
                self.store.event(pod, "FailedScheduling", unschedulable, "Warning", "default-scheduler")
                return  # stays Pending until deleted, like a pod no node can take
            spec["nodeName"] = NODE
            self._condition(pod, "PodScheduled", "True")
            self.store.set_status(pod, hostIP=POD_IP, hostIPs=[{"ip": POD_IP}], startTime=now())
            self.store.event(pod, "Scheduled", f"Successfully assigned {meta['namespace']}/{meta['name']} "
                             f"to {NODE}", component="default-scheduler")
            containers = spec["containers"]
            if fault == "imagepull":
                await self._image_pull_failure(pod, containers)
                return
            try:
                plans = [self._plan(pod, c) for c in containers]
            except ContainerConfigError as exc:
                self.store.set_status(pod, containerStatuses=[
                    _cstatus(c, {"waiting": {"reason": "CreateContainerConfigError", "message": str(exc)}})
                    for c in containers])
                self.store.event(pod, "Failed", f"Error: {exc}", "Warning")
                return
            if fault and fault.startswith("exit:"):
                plans = [(_exit_argv(fault), env, cwd) for _, env, cwd in plans]
            started = await self._start(run, containers, plans)
            if fault in ("oomkilled", "evicted"):
                await asyncio.sleep(self.settings.fault_delay_s)
                for proc in run.procs:
                    _signal_group(proc, signal.SIGKILL)
            outcomes = [await o.wait() if not isinstance(o, str) else o for o in started]
            self._finish(run, containers, outcomes, fault)
        finally:
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
        for container, (argv, env, cwd) in zip(containers, plans):
            log = self.log_path(run.pod, container["name"])
            log.parent.mkdir(parents=True, exist_ok=True)
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
        self.store.set_status(run.pod, phase="Running", podIP=POD_IP, podIPs=[{"ip": POD_IP}],
                              containerStatuses=[_cstatus(c, {"running": {"startedAt": now()}}, ready=True)
                                                 for c in containers])
        for kind in ("Initialized", "ContainersReady", "Ready"):
            self._condition(run.pod, kind, "True")
        for container in containers:
            self.store.event(run.pod, "Started", f"Started container {container['name']}")
        return started

    def _finish(self, run: PodRun, containers: list[Obj], outcomes: list[int | str],
                fault: str | None) -> None:
        pod, states = run.pod, []
        for container, outcome in zip(containers, outcomes):
            if isinstance(outcome, str):
                code, reason, message = 128, "StartError", outcome
            else:
                code = 128 - outcome if outcome < 0 else outcome  # killed by signal N -> 128+N
                reason, message = ("Completed" if code == 0 else "Error"), None
            if fault == "oomkilled":
                reason = "OOMKilled"
            term = {"exitCode": code, "reason": reason, "startedAt": pod["status"].get("startTime"),
                    "finishedAt": now(), "containerID": f"emulator://{pod['metadata']['uid']}"}
            if message:
                term["message"] = message
            if fault == "evicted":
                term.update(reason="ContainerStatusUnknown",
                            message="The container could not be located when the pod was terminated")
            states.append(_cstatus(container, {"terminated": term}))
        run.phase = "Succeeded" if all(s["state"]["terminated"]["exitCode"] == 0 for s in states) \
            and fault != "evicted" else "Failed"
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
