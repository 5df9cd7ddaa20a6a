"""Job controller: one pod at a time per Job, retried up to ``backoffLimit``, cut off at
``activeDeadlineSeconds``, with the status fields and conditions batch/v1 reports.

Only ``completions: 1`` / ``parallelism: 1`` (what dagster-k8s creates) is emulated.
"""

from __future__ import annotations

import asyncio
import secrets
from dataclasses import dataclass

from .kubelet import Kubelet, PodRun
from .store import BY_KIND, ApiError, Obj, Store, now

CONTROLLER = "job-controller"


@dataclass(frozen=True)
class JobSettings:
    backoff_s: float = 0.5  # first retry delay (10 s on a cluster), doubled per failure, capped at 8x


class JobController:
    def __init__(self, store: Store, kubelet: Kubelet, settings: JobSettings) -> None:
        self.store, self.kubelet, self.settings = store, kubelet, settings
        self.tasks: dict[str, asyncio.Task] = {}
        self.active: dict[str, Obj] = {}  # job uid -> its current pod
        store.on_create.append(self._created)
        store.on_delete["Job"] = self._delete

    def _created(self, res: object, job: Obj) -> None:
        if job["kind"] == "Job" and not job["spec"].get("suspend"):
            uid = job["metadata"]["uid"]
            self.tasks[uid] = asyncio.get_running_loop().create_task(self._run(job))

    def _delete(self, job: Obj, options: Obj) -> bool:
        """batch/v1 Jobs orphan their pods unless the caller asks for Background or Foreground
        propagation (kubectl does; the Python client's default does not)."""
        uid = job["metadata"]["uid"]
        task = self.tasks.pop(uid, None)
        if task:
            task.cancel()
        policy = options.get("propagationPolicy") or ("Orphan" if options.get("orphanDependents", True)
                                                       else "Background")
        if policy in ("Background", "Foreground"):
            for pod in self.store.list(BY_KIND["Pod"], job["metadata"]["namespace"],
                                       f"batch.kubernetes.io/controller-uid={uid}"):
                self.store.delete(BY_KIND["Pod"], pod["metadata"]["namespace"], pod["metadata"]["name"], {})
        return False

    async def _run(self, job: Obj) -> None:
        self.store.set_status(job, startTime=now(), active=0, ready=0, terminating=0,
                              uncountedTerminatedPods={})
        deadline = job["spec"].get("activeDeadlineSeconds")
        try:
            await asyncio.wait_for(self._attempts(job), deadline)
        except asyncio.TimeoutError:
            pod = self.active.pop(job["metadata"]["uid"], None)
            if pod is not None:
                try:
                    self.store.delete(BY_KIND["Pod"], pod["metadata"]["namespace"], pod["metadata"]["name"], {})
                except ApiError:
                    pass  # already gone
            self._fail(job, "DeadlineExceeded", "Job was active longer than specified deadline",
                       failed=(job["status"].get("failed") or 0) + (1 if pod is not None else 0))

    async def _attempts(self, job: Obj) -> None:
        meta, spec = job["metadata"], job["spec"]
        failed = 0
        while True:
            run = self._create_pod(job)
            self.store.set_status(job, active=1)
            await run.done.wait()
            self.active.pop(meta["uid"], None)
            if run.phase == "Succeeded":
                self.store.set_status(job, active=0, succeeded=1, completionTime=now(), ready=0,
                                      conditions=[_condition("SuccessCriteriaMet", "CompletionsReached",
                                                             "Reached expected number of succeeded pods"),
                                                  _condition("Complete", "CompletionsReached",
                                                             "Reached expected number of succeeded pods")])
                self.store.event(job, "Completed", "Job completed", component=CONTROLLER)
                return
            failed += 1
            self.store.set_status(job, active=0, failed=failed, ready=0)
            if failed > spec["backoffLimit"]:
                self._fail(job, "BackoffLimitExceeded", "Job has reached the specified backoff limit",
                           failed=failed)
                return
            await asyncio.sleep(self.settings.backoff_s * min(2 ** (failed - 1), 8))

    def _create_pod(self, job: Obj) -> PodRun:
        meta, template = job["metadata"], job["spec"]["template"]
        pod_meta = {**template.get("metadata", {}), "name": f"{meta['name']}-{secrets.token_hex(3)[:5]}",
                    "ownerReferences": [{"apiVersion": "batch/v1", "kind": "Job", "name": meta["name"],
                                         "uid": meta["uid"], "controller": True,
                                         "blockOwnerDeletion": True}]}
        pod = self.store.create(BY_KIND["Pod"], meta["namespace"],
                                {"metadata": pod_meta, "spec": template["spec"]})
        self.active[meta["uid"]] = pod
        self.store.event(job, "SuccessfulCreate", f"Created pod: {pod['metadata']['name']}",
                         component=CONTROLLER)
        return self.kubelet.runs[pod["metadata"]["uid"]]

    def _fail(self, job: Obj, reason: str, message: str, failed: int) -> None:
        self.store.set_status(job, active=0, ready=0, failed=failed,
                              conditions=[_condition("FailureTarget", reason, message),
                                          _condition("Failed", reason, message)])
        self.store.event(job, reason, message, "Warning", CONTROLLER)


def _condition(kind: str, reason: str, message: str) -> Obj:
    return {"type": kind, "status": "True", "reason": reason, "message": message,
            "lastProbeTime": now(), "lastTransitionTime": now()}
