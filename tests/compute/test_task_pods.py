"""The task-pod launcher's offline parts: Job names, labels, the store refusal, the tags that
route a step's op beside the run worker, and the Job dagster-k8s builds for one task."""

from __future__ import annotations

import re

import pytest
from dagster_k8s.job import DagsterK8sJobConfig, UserDefinedDagsterK8sConfig

from flowassets import FlowSpec, kubernetes, step, timeout
from flowassets.compute import task_pods
from flowassets.compute.kubernetes import DEADLINE_GRACE_S, k8s_config_for_step
from flowassets.errors import FlowassetsError
from flowassets.graph.build import build_graph
from flowassets.translate.job import flow_to_job

DNS_1123 = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
RUN = "0f5c5b0e-1111-2222-3333-444455556666"


class WideFlow(FlowSpec):
    @step
    def start(self):
        self.items = list(range(3))
        self.next(self.a_very_long_step_name_that_goes_on_and_on_for_ever, foreach="items")

    @timeout(seconds=30)
    @kubernetes(cpu=2, memory=1000)
    @step
    def a_very_long_step_name_that_goes_on_and_on_for_ever(self):
        self.next(self.join)

    @step
    def join(self, inputs):
        self.next(self.single)

    @kubernetes
    @step
    def single(self):
        self.next(self.end)

    @step
    def end(self):
        pass


def test_job_names_are_dns_labels_unique_per_task_and_attempt():
    long_step = "a_very_long_step_name_that_goes_on_and_on_for_ever"
    names = {task_pods.job_name(RUN, long_step, f"2-{i}-{j}", attempt)
             for i in range(20) for j in range(20) for attempt in range(3)}
    assert len(names) == 20 * 20 * 3
    assert all(len(n) <= 63 and DNS_1123.match(n) for n in names), sorted(names)[:3]
    assert task_pods.job_name(RUN, "train", "3", 0).startswith("fa-train-3-0f5c5b0e")
    assert task_pods.job_name(RUN, "train", "4-2", 0).startswith("fa-train-4-2-0f5c5b0e")
    assert task_pods.job_name(RUN, "train", "3", 1).endswith("-a1")


def test_task_labels_name_flow_step_run_task_index_and_attempt():
    labels = task_pods.task_labels("WideFlow", "train", RUN, "3-2-5", 5, 1)
    assert labels == {"flowassets.io/flow": "WideFlow", "flowassets.io/step": "train",
                      "flowassets.io/run-id": RUN, "flowassets.io/task": "3-2-5",
                      "flowassets.io/foreach-index": "5", "flowassets.io/attempt": "1"}
    # Task ids (runtime/task_ids.py) are label values as they are, even deeply nested.
    label_value = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")
    deep = "12-" + "-".join(["9999"] * 10)
    value = task_pods.task_labels("F", "s", RUN, deep, 9999, 0)["flowassets.io/task"]
    assert value == deep and len(value) <= 63 and label_value.match(value)


def test_a_local_store_is_refused_for_pods_naming_the_setting(monkeypatch):
    monkeypatch.delenv(task_pods.SHARED_LOCAL_STORE_ENV, raising=False)
    with pytest.raises(FlowassetsError) as caught:
        task_pods.check_store_reaches_pods("local:/home/me/.flowassets", "WideFlow")
    message = str(caught.value)
    assert "WideFlow" in message and "FLOWASSETS_DATASTORE" in message
    assert task_pods.SHARED_LOCAL_STORE_ENV in message and "Nothing was launched" in message
    task_pods.check_store_reaches_pods("s3:s3://bucket/flows", "WideFlow")  # fine
    monkeypatch.setenv(task_pods.SHARED_LOCAL_STORE_ENV, "1")  # a volume at the same path in every pod
    task_pods.check_store_reaches_pods("local:/mnt/shared/flows", "WideFlow")


def test_only_kubernetes_steps_with_many_tasks_launch_task_pods_from_beside_the_run_worker():
    job = flow_to_job(WideFlow)
    tags = {n.name: n.definition.tags for n in job.graph.nodes}
    long_step = "a_very_long_step_name_that_goes_on_and_on_for_ever"
    assert tags[long_step]["flowassets/task-pods"] == "true"
    assert "flowassets/task-pods" not in tags["single"]  # one task: its own step pod
    assert "flowassets/task-pods" not in tags["start"]
    assert job.executor_def.name == "flowassets"


def test_a_task_job_is_dagster_k8s_s_own_with_the_steps_resources_and_a_per_task_deadline():
    """What ``task_pods._create`` sends: construct_dagster_k8s_job over the step's user config."""
    graph = build_graph(WideFlow)
    node = graph["a_very_long_step_name_that_goes_on_and_on_for_ever"]
    user = UserDefinedDagsterK8sConfig.from_dict(k8s_config_for_step(graph, node))
    sent = []

    class Api:  # records the body instead of calling a cluster
        def create_namespaced_job_with_retries(self, body, namespace):
            sent.append((body, namespace))

    target = task_pods.PodTarget(api=Api(), job_config=DagsterK8sJobConfig(job_image="img:1"),
                                 user_config=user, namespace="flows", run_id=RUN)
    job = task_pods.PodJob(item=None, name="fa-x-1", labels=task_pods.task_labels(
        "WideFlow", node.name, RUN, "1", 1, 0), args=("python", "-m", task_pods.WORKER_MODULE, "s3:x", "WideFlow", "k"),
        result_key="k.result", deadline_s=30 + DEADLINE_GRACE_S)
    task_pods._create(target, job)
    ((body, namespace),) = sent
    assert namespace == "flows"
    assert body.spec.active_deadline_seconds == 30 + DEADLINE_GRACE_S
    container = body.spec.template.spec.containers[0]
    assert container.args == ["python", "-m", "flowassets.runtime.task_worker", "s3:x", "WideFlow", "k"]
    assert container.resources.requests["cpu"] == "2" and container.resources.requests["memory"] == "1000M"
    labels = body.spec.template.metadata.labels
    assert labels["app.kubernetes.io/component"] == "flowassets-task"
    assert labels["flowassets.io/task"] == "1" and labels["flowassets.io/foreach-index"] == "1"
    env = {e.name for e in container.env}
    assert {"FLOWASSETS_KUBERNETES_POD_NAME", "FLOWASSETS_KUBERNETES_POD_IP"} <= env
