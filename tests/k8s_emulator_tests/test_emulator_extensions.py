"""The emulator's test-only surface (``/_emulator``): request accounting, pod timing records that
outlive the pods, and fault rules by label selector (README.md, "Test endpoints")."""

from __future__ import annotations

import time
import urllib.error
import urllib.request
from datetime import datetime, timezone

import pytest
from kubernetes.client import ApiException, V1DeleteOptions

from tests.support.k8s_emulator.fixtures import max_concurrent, wait_for

pytestmark = pytest.mark.xdist_group("k8s_emulator")

STARTED, FINISHED = "emulator.flowassets.io/started-at", "emulator.flowassets.io/finished-at"


def job_body(name: str, command: list[str], labels: dict | None = None, backoff_limit: int = 0) -> dict:
    return {"metadata": {"name": name}, "spec": {"backoffLimit": backoff_limit, "template": {
        "metadata": {"labels": labels or {}},
        "spec": {"restartPolicy": "Never", "containers": [
            {"name": "main", "image": "python:3.11-slim", "command": command}]}}}}


def pod_body(name: str, command: list[str], labels: dict | None = None) -> dict:
    return {"metadata": {"name": name, "labels": labels or {}}, "spec": {"restartPolicy": "Never", "containers": [
        {"name": "main", "image": "python:3.11-slim", "command": command}]}}


def finished_jobs(batch, ns: str, names: list[str]) -> list:
    def check():
        jobs = [batch.read_namespaced_job_status(n, ns) for n in names]
        done = [j for j in jobs if j.status and (j.status.succeeded or any(
            c.type == "Failed" and c.status == "True" for c in j.status.conditions or []))]
        return jobs if len(done) == len(names) else None
    return wait_for(f"jobs {names} to finish", check)


def finished_pod(core, ns: str, name: str):
    return wait_for(f"pod {name} to finish", lambda: (
        lambda p: p if p.status.phase in ("Succeeded", "Failed") else None)(core.read_namespaced_pod(name, ns)))


def rfc3339(text) -> float:
    if isinstance(text, datetime):  # the client parses date-time fields already
        return text.timestamp()
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc).timestamp()


# --- request accounting ---

def test_every_api_request_is_counted_by_verb_resource_namespace_and_selector(k8s_emulator, k8s_namespace):
    core, batch, ns = k8s_emulator.core(), k8s_emulator.batch(), k8s_namespace
    mark = k8s_emulator.request_mark()
    batch.create_namespaced_job(ns, job_body("counted", ["true"], {"flowassets.io/task": "1"}))
    (job,) = finished_jobs(batch, ns, ["counted"])  # read_namespaced_job_status, polled
    polls = len(k8s_emulator.requests(since=mark, namespace=ns, resource="jobs/status"))
    assert polls >= 1
    (pod,) = core.list_namespaced_pod(ns, label_selector="job-name=counted").items
    core.list_namespaced_pod(ns, label_selector="flowassets.io/task=1")
    core.list_namespaced_pod(ns)
    core.read_namespaced_pod(pod.metadata.name, ns)
    core.read_namespaced_pod_log(pod.metadata.name, ns)
    with pytest.raises(ApiException):
        core.read_namespaced_pod("no-such-pod", ns)
    batch.delete_namespaced_job("counted", ns, body=V1DeleteOptions(propagation_policy="Background"))

    counts = k8s_emulator.request_counts(since=mark, namespace=ns)
    assert counts == {"create jobs": 1, "get jobs/status": polls, "list pods": 3, "get pods": 2, "log pods": 1,
                      "delete jobs": 1}
    assert k8s_emulator.request_counts(since=mark, namespace=ns, label_selector=True) == {"list pods": 2}
    records = k8s_emulator.requests(since=mark, namespace=ns)
    assert [r["seq"] for r in records] == sorted(r["seq"] for r in records) and records[0]["seq"] > mark
    create = records[0]
    assert (create["method"], create["verb"], create["kind"], create["plural"], create["group"], create["status"]) \
        == ("POST", "create", "Job", "jobs", "batch", 200)  # the emulator answers creates with 200
    lists = [r for r in records if r["verb"] == "list"]
    assert [r["labelSelector"] for r in lists] == ["job-name=counted", "flowassets.io/task=1", None]
    missing = [r for r in records if r["name"] == "no-such-pod"]
    assert [(r["verb"], r["status"]) for r in missing] == [("get", 404)]
    log = [r for r in records if r["verb"] == "log"][0]
    assert (log["method"], log["subresource"], log["name"]) == ("GET", "log", pod.metadata.name)
    assert all(r["durationMs"] is not None and r["time"] > 0 for r in records)
    # the endpoint's own requests are not counted, and a later mark sees nothing new in ns
    later = k8s_emulator.request_mark()
    k8s_emulator.requests(namespace=ns)
    assert k8s_emulator.request_mark() == later
    assert k8s_emulator.requests(since=later, namespace=ns) == []


def test_cluster_scoped_watch_and_unknown_paths_are_counted_too(k8s_emulator, k8s_namespace):
    core = k8s_emulator.core()
    mark = k8s_emulator.request_mark()
    core.list_node()
    with pytest.raises(ApiException) as caught:
        core.list_namespaced_pod(k8s_namespace, watch=True)
    assert caught.value.status == 405
    with pytest.raises(urllib.error.HTTPError) as caught:
        urllib.request.urlopen(f"{k8s_emulator.url}/apis/no.such.group/v1/things")
    assert caught.value.code == 404
    records = k8s_emulator.requests(since=mark)
    assert [(r["verb"], r["resource"], r["namespace"], r["status"]) for r in records] == [
        ("list", "nodes", None, 200), ("watch", "pods", k8s_namespace, 405), ("list", "things", None, 404)]


def test_reset_forgets_the_records_but_sequence_numbers_go_on(k8s_emulator, k8s_namespace):
    core = k8s_emulator.core()
    core.list_namespaced_config_map(k8s_namespace)
    assert k8s_emulator.requests(namespace=k8s_namespace)
    last = k8s_emulator.reset_requests()
    assert k8s_emulator.requests() == [] or all(r["seq"] > last for r in k8s_emulator.requests())
    core.list_namespaced_config_map(k8s_namespace)
    (after,) = k8s_emulator.requests(namespace=k8s_namespace)
    assert after["seq"] > last and after["verb"] == "list"
    assert k8s_emulator.requests(since=after["seq"], namespace=k8s_namespace) == []


# --- pod timing ---

def test_pods_report_start_and_finish_times_and_their_records_survive_deletion(k8s_emulator, k8s_namespace):
    core, batch, ns = k8s_emulator.core(), k8s_emulator.batch(), k8s_namespace
    before = time.time()
    names = [f"timed-{i}" for i in range(3)]
    for name in names:
        batch.create_namespaced_job(ns, job_body(name, ["python", "-c", "import time; time.sleep(1)"],
                                                 {"flowassets.io/step": "timed"}))
    finished_jobs(batch, ns, names)
    pods = core.list_namespaced_pod(ns, label_selector="flowassets.io/step=timed").items
    assert len(pods) == 3
    for pod in pods:
        started, finished = float(pod.metadata.annotations[STARTED]), float(pod.metadata.annotations[FINISHED])
        assert before <= started < finished <= time.time() and finished - started >= 0.9
        term = pod.status.container_statuses[0].state.terminated
        assert int(rfc3339(pod.status.start_time)) <= int(started)
        assert int(rfc3339(term.started_at)) == int(started) and int(rfc3339(term.finished_at)) == int(finished)
    for name in names:
        batch.delete_namespaced_job(name, ns, body=V1DeleteOptions(propagation_policy="Background"))
    wait_for("the pods to go", lambda: not core.list_namespaced_pod(ns).items)

    records = k8s_emulator.pods(namespace=ns)
    assert sorted(r["job"] for r in records) == names
    by_name = {p.metadata.name: p for p in pods}
    for record in records:
        pod = by_name[record["name"]]
        assert record["startedAt"] == float(pod.metadata.annotations[STARTED])
        assert record["finishedAt"] == float(pod.metadata.annotations[FINISHED])
        assert record["createdAt"] <= record["scheduledAt"] <= record["startedAt"] < record["finishedAt"] \
            < record["deletedAt"]
        assert (record["phase"], record["exitCode"], record["reason"], record["fault"]) == \
            ("Succeeded", 0, "Completed", None)
        assert record["labels"]["flowassets.io/step"] == "timed" and record["uid"] == pod.metadata.uid
        assert record["containers"]["main"]["exitCode"] == 0
    assert k8s_emulator.pods(namespace=ns, label_selector="job-name=timed-1")[0]["job"] == "timed-1"
    assert [r["name"] for r in k8s_emulator.pods(job="timed-2") if r["namespace"] == ns] == \
        [r["name"] for r in records if r["job"] == "timed-2"]
    assert k8s_emulator.max_concurrent_pods(ns) == 3  # created together, each runs 1 s


def test_max_concurrent_counts_overlaps_from_start_and_finish_times(k8s_emulator, k8s_namespace):
    core, ns = k8s_emulator.core(), k8s_namespace
    code = "import time; time.sleep(0.6)"
    core.create_namespaced_pod(ns, pod_body("first", ["python", "-c", code], {"wave": "a"}))
    finished_pod(core, ns, "first")
    for name in ("second", "third"):
        core.create_namespaced_pod(ns, pod_body(name, ["python", "-c", code], {"wave": "b"}))
    for name in ("second", "third"):
        finished_pod(core, ns, name)
    assert k8s_emulator.max_concurrent_pods(ns) == 2
    assert k8s_emulator.max_concurrent_pods(ns, label_selector="wave=a") == 1
    # the arithmetic: touching intervals do not overlap, running pods count until now
    records = [{"startedAt": 0.0, "finishedAt": 1.0}, {"startedAt": 1.0, "finishedAt": 2.0},
               {"startedAt": 0.5, "finishedAt": None}, {"startedAt": None, "finishedAt": None}]
    assert max_concurrent(records, now=3.0) == 2


# --- fault rules ---

def test_a_fault_rule_ooms_exactly_one_tasks_first_attempt_and_its_retry_succeeds(k8s_emulator, k8s_namespace):
    core, batch, ns = k8s_emulator.core(), k8s_emulator.batch(), k8s_namespace
    rule = k8s_emulator.add_fault(ns, "flowassets.io/step=train,flowassets.io/task=2", "oomkilled")
    assert (rule["fault"], rule["count"], rule["remaining"], rule["hits"]) == ("oomkilled", 1, 1, [])
    names = [f"train-{i}" for i in range(4)]
    for i, name in enumerate(names):
        batch.create_namespaced_job(ns, job_body(name, ["python", "-c", "print('done')"],
                                                 {"flowassets.io/step": "train", "flowassets.io/task": str(i)},
                                                 backoff_limit=2))
    jobs = finished_jobs(batch, ns, names)
    assert [(j.status.succeeded, j.status.failed or 0) for j in jobs] == [(1, 0), (1, 0), (1, 1), (1, 0)]
    pods = sorted(core.list_namespaced_pod(ns).items, key=lambda p: p.metadata.creation_timestamp)
    oom = [p for p in pods if p.status.phase == "Failed"]
    assert len(pods) == 5 and len(oom) == 1 and oom[0].metadata.labels["job-name"] == "train-2"
    term = oom[0].status.container_statuses[0].state.terminated
    assert (term.reason, term.exit_code) == ("OOMKilled", 137)  # even though `print` ends in time
    (rule,) = k8s_emulator.faults(ns)
    assert rule["remaining"] == 0 and [h["name"] for h in rule["hits"]] == [oom[0].metadata.name]
    records = {r["name"]: r for r in k8s_emulator.pods(namespace=ns)}
    assert {n for n, r in records.items() if r["fault"]} == {oom[0].metadata.name}
    assert records[oom[0].metadata.name]["faultRule"] == rule["id"]
    assert (records[oom[0].metadata.name]["reason"], records[oom[0].metadata.name]["exitCode"]) == ("OOMKilled", 137)
    retry = [r for r in records.values() if r["job"] == "train-2" and r["name"] != oom[0].metadata.name]
    assert [(r["phase"], r["fault"]) for r in retry] == [("Succeeded", None)]


def test_a_rule_with_count_k_hits_the_first_k_matching_pods_in_its_namespace_only(k8s_emulator, k8s_namespace):
    core, ns = k8s_emulator.core(), k8s_namespace
    other = k8s_emulator.add_fault("some-other-namespace", "fail=yes", "exit:5", count=5)
    rule = k8s_emulator.add_fault(ns, "fail=yes", "exit:3", count=2)
    names = ["a", "skip", "b", "c", "d"]
    for name in names:
        core.create_namespaced_pod(ns, pod_body(name, ["python", "-c", "print('ran')"],
                                                {"fail": "no" if name == "skip" else "yes"}))
    codes = {n: finished_pod(core, ns, n).status.container_statuses[0].state.terminated.exit_code for n in names}
    assert codes == {"a": 3, "skip": 0, "b": 3, "c": 0, "d": 0}
    assert "emulator fault exit:3" in core.read_namespaced_pod_log("a", ns)
    rules = {r["id"]: r for r in k8s_emulator.faults()}
    assert [h["name"] for h in rules[rule["id"]]["hits"]] == ["a", "b"] and rules[rule["id"]]["remaining"] == 0
    assert rules[other["id"]]["hits"] == [] and rules[other["id"]]["remaining"] == 5
    assert k8s_emulator.clear_faults(rule_id=other["id"]) == 1
    assert other["id"] not in {r["id"] for r in k8s_emulator.faults()}


@pytest.mark.parametrize("fault, check", [
    ("evicted:0", lambda p: (p.status.phase, p.status.reason) == ("Failed", "Evicted")),
    ("unschedulable", lambda p: p.status.phase == "Pending" and any(
        c.type == "PodScheduled" and c.reason == "Unschedulable" for c in p.status.conditions or [])),
    ("imagepull", lambda p: p.status.phase == "Pending" and any(
        s.state.waiting and s.state.waiting.reason in ("ErrImagePull", "ImagePullBackOff")
        for s in p.status.container_statuses or [])),
    ("oomkilled:0", lambda p: p.status.phase == "Failed" and
        p.status.container_statuses[0].state.terminated.reason == "OOMKilled"),
])
def test_every_fault_kind_can_come_from_a_rule(k8s_emulator, k8s_namespace, fault, check):
    core, ns = k8s_emulator.core(), k8s_namespace
    k8s_emulator.add_fault(ns, "victim", fault)
    core.create_namespaced_pod(ns, pod_body("hit", ["python", "-c", "import time; time.sleep(30)"], {"victim": ""}))
    pod = wait_for(f"the {fault} fault to show", lambda: (lambda p: p if check(p) else None)(
        core.read_namespaced_pod("hit", ns)))
    assert pod.metadata.name == "hit"
    assert k8s_emulator.pods(namespace=ns)[0]["fault"] == fault


def test_bad_fault_rules_are_rejected_and_namespace_rules_go_with_the_namespace(k8s_emulator, k8s_namespace):
    for selector, fault, count in (("a=b", "explode", 1), ("a=b", "exit:300", 1), ("a in (", "oomkilled", 1),
                                   ("a=b", "oomkilled", 0), ("a=b", "oomkilled:-1", 1)):
        with pytest.raises(urllib.error.HTTPError) as caught:
            k8s_emulator.add_fault(k8s_namespace, selector, fault, count)
        assert caught.value.code == 400
    core = k8s_emulator.core()
    core.create_namespace({"metadata": {"name": f"{k8s_namespace}-x"}})
    k8s_emulator.add_fault(f"{k8s_namespace}-x", "a=b", "oomkilled")
    assert len(k8s_emulator.faults(f"{k8s_namespace}-x")) == 1
    core.delete_namespace(f"{k8s_namespace}-x")
    assert k8s_emulator.faults(f"{k8s_namespace}-x") == []


# --- scale ---

def test_a_hundred_jobs_each_run_one_pod_and_selector_lists_stay_exact(k8s_emulator, k8s_namespace):
    """Many Jobs in one namespace: one pod per Job, list by selector returns exactly the matches,
    and a poll of every task's pods costs one request (scale figures: bench.py, README.md)."""
    core, batch, ns = k8s_emulator.core(), k8s_emulator.batch(), k8s_namespace
    n = 100
    for i in range(n):
        batch.create_namespaced_job(ns, job_body(f"task-{i}", ["true"], {
            "flowassets.io/step": "many", "flowassets.io/task": str(i), "parity": str(i % 2)}))
    mark = k8s_emulator.request_mark()

    def all_done():
        pods = core.list_namespaced_pod(ns, label_selector="flowassets.io/step=many").items
        return pods if len(pods) == n and all(p.status.phase == "Succeeded" for p in pods) else None
    pods = wait_for("every task pod to succeed", all_done, timeout_s=120)
    polls = k8s_emulator.request_counts(since=mark, namespace=ns)
    assert set(polls) == {"list pods"}
    assert sorted(p.metadata.labels["job-name"] for p in pods) == sorted(f"task-{i}" for i in range(n))
    assert len(core.list_namespaced_pod(ns, label_selector="parity=1,flowassets.io/step=many").items) == n // 2
    assert [p.metadata.name for p in core.list_namespaced_pod(ns, label_selector="flowassets.io/task=42").items] \
        == [p.metadata.name for p in pods if p.metadata.labels["flowassets.io/task"] == "42"]
    records = k8s_emulator.pods(namespace=ns)
    assert len(records) == n and all(r["startedAt"] and r["finishedAt"] for r in records)
