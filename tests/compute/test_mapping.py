"""Every seed @kubernetes parameter, through flow_to_job's op tags and dagster-k8s's own Job
construction, lands on the right field of the V1Job."""

from __future__ import annotations

import json

import pytest

from flowassets.translate.job import flow_to_job
from tests.compute import flows_seed as f
from tests.compute.k8s_job import CODE_IMAGE, container, env, mounts, op_tags, step_job, volumes


@pytest.fixture(scope="module")
def jobs():
    """Each seed flow translated once for the module."""
    cache = {}

    def get(cls):
        if cls not in cache:
            cache[cls] = flow_to_job(cls)
        return cache[cls]
    return get


def resources(job):
    res = container(job).resources
    return res.requests, res.limits


def test_defaults_are_metaflows(jobs):
    requests, limits = resources(step_job(jobs(f.DefaultsFlow)))
    assert requests == {"cpu": "1", "memory": "4096M", "ephemeral-storage": "10240M"}
    assert set(limits) == {"cpu", "memory", "ephemeral-storage"}  # Burstable: limits above requests
    assert limits == {"cpu": "2", "memory": "8192M", "ephemeral-storage": "20480M"}


def test_cpu_memory_disk_gpu(jobs):
    requests, limits = resources(step_job(jobs(f.AllocationFlow)))
    assert requests["cpu"] == "4" and requests["memory"] == "16000M"
    assert requests["ephemeral-storage"] == "50000M"
    assert requests["nvidia.com/gpu"] == limits["nvidia.com/gpu"] == "1"


def test_gpu_vendor_amd(jobs):
    requests, limits = resources(step_job(jobs(f.AmdGpuFlow)))
    assert limits["amd.com/gpu"] == requests["amd.com/gpu"] == "1"
    assert "nvidia.com/gpu" not in limits


def test_image_pull_policy_pull_secrets_secrets(jobs):
    job = step_job(jobs(f.ContainerFlow))
    assert container(job).image == "python:3.9"
    assert container(job).image_pull_policy == "Always"
    assert [s.name for s in job.spec.template.spec.image_pull_secrets] == ["regcred"]
    assert [e.secret_ref.name for e in container(job).env_from if e.secret_ref] == ["db-creds"]


def test_image_defaults_to_the_code_locations(jobs):
    assert container(step_job(jobs(f.DefaultsFlow))).image == CODE_IMAGE


def test_namespace_and_service_account(jobs):
    job = step_job(jobs(f.ContainerFlow))
    assert job.metadata.namespace == "production"
    assert job.spec.template.spec.service_account_name == "ml-service-account"


def test_service_account_defaults_to_the_executors(jobs):
    assert step_job(jobs(f.DefaultsFlow)).spec.template.spec.service_account_name == "dagster"


def test_node_selector_dict(jobs):
    assert step_job(jobs(f.GpuFlow)).spec.template.spec.node_selector == {"accelerator": "nvidia-tesla-v100"}


def test_tolerations(jobs):
    tolerations = step_job(jobs(f.TolerationsFlow)).spec.template.spec.tolerations
    assert [(t.key, t.operator, t.value, t.effect) for t in tolerations] == [
        ("nvidia.com/gpu", "Exists", None, "NoSchedule"), ("workload", "Equal", "ml", "NoSchedule")]


def test_persistent_volume_claims(jobs):
    job = step_job(jobs(f.PvcFlow))
    claims = {v.persistent_volume_claim.claim_name: name for name, v in volumes(job).items()
              if v.persistent_volume_claim}
    assert set(claims) == {"data-pvc", "models-pvc", "cache-pvc"}
    assert mounts(job)["/mnt/data"] == claims["data-pvc"]
    assert mounts(job)["/mnt/models"] == claims["models-pvc"]


def test_tmpfs_size_path_tempdir(jobs):
    job = step_job(jobs(f.TmpfsFlow))
    volume = volumes(job)[mounts(job)["/fast-tmp"]]
    assert volume.empty_dir.medium == "Memory" and volume.empty_dir.size_limit == "10240Mi"
    assert env(job)["TMPDIR"] == "/fast-tmp"


def test_tmpfs_default_size_is_half_the_memory(jobs):
    job = step_job(jobs(f.TmpfsDefaultSizeFlow))
    volume = volumes(job)[mounts(job)["/metaflow_temp"]]
    assert volume.empty_dir.size_limit == "4000Mi"
    assert "TMPDIR" not in env(job)  # tmpfs_tempdir=False


def test_shared_memory(jobs):
    job = step_job(jobs(f.SharedMemoryFlow))
    volume = volumes(job)[mounts(job)["/dev/shm"]]
    assert volume.empty_dir.medium == "Memory" and volume.empty_dir.size_limit == "8192Mi"


def test_labels_annotations_port_security_context(jobs):
    job = step_job(jobs(f.AdvancedFlow))
    pod_meta = job.spec.template.metadata
    assert pod_meta.labels["team"] == "ml" and pod_meta.labels["project"] == "recommendations"
    assert pod_meta.annotations == {"prometheus.io/scrape": "true"}
    assert job.metadata.labels["team"] == "ml"
    assert [p.container_port for p in container(job).ports] == [8080]
    ctx = container(job).security_context
    assert ctx.run_as_user == 1000 and ctx.run_as_non_root is True and ctx.capabilities.drop == ["ALL"]


def test_qos_guaranteed_and_burstable(jobs):
    job = jobs(f.QosFlow)
    requests, limits = resources(step_job(job, "critical_step"))
    assert requests == limits == {"cpu": "4", "memory": "16000M", "ephemeral-storage": "10240M"}
    requests, limits = resources(step_job(job, "flexible_step"))
    assert requests == {"cpu": "2", "memory": "8000M", "ephemeral-storage": "10240M"}
    assert limits["cpu"] == "4" and limits["memory"] == "16000M"  # may burst, never below requests


def test_resources_and_kubernetes_merge_to_the_larger_value(jobs):
    job = step_job(jobs(f.MergeFlow))
    requests, limits = resources(job)
    assert requests["cpu"] == "8"  # @kubernetes 8 > @resources 2
    assert requests["memory"] == "16000M"  # @resources 16000 > @kubernetes 1000
    assert requests["ephemeral-storage"] == "20000M"
    assert requests["nvidia.com/gpu"] == "1"  # only @resources set it
    assert volumes(job)[mounts(job)["/dev/shm"]].empty_dir.size_limit == "512Mi"


def test_kubernetes_and_resources_from_the_overview(jobs):
    requests, _ = resources(step_job(jobs(f.K8sFlow)))
    assert requests["cpu"] == "4" and requests["memory"] == "16000M"


def test_default_deadline_is_five_days_and_timeout_shortens_it(jobs):
    assert step_job(jobs(f.DefaultsFlow)).spec.active_deadline_seconds == 5 * 24 * 3600
    job = jobs(f.TimeoutFlow)
    assert step_job(job, "train").spec.active_deadline_seconds == 2 * 3600 + 120
    # three attempts of 10 minutes, two 1-minute pauses, and the start-up grace
    assert step_job(job, "retried").spec.active_deadline_seconds == 3 * 600 + 2 * 60 + 120


def test_foreach_body_keeps_the_five_day_ceiling(jobs):
    assert step_job(jobs(f.ForeachTimeoutFlow)).spec.active_deadline_seconds == 5 * 24 * 3600


def test_pods_and_jobs_are_labelled_with_flow_step_and_run(jobs):
    job = step_job(jobs(f.GpuFlow))
    for meta in (job.metadata, job.spec.template.metadata):
        assert meta.labels["flowassets.io/flow"] == "GpuFlow"
        assert meta.labels["flowassets.io/step"] == "train"
        assert meta.labels["dagster/run-id"]  # dagster-k8s adds the run id


def test_pod_identity_reaches_the_container(jobs):
    variables = env(step_job(jobs(f.DefaultsFlow)))
    assert variables["FLOWASSETS_KUBERNETES_POD_NAME"].field_ref.field_path == "metadata.name"
    assert variables["FLOWASSETS_KUBERNETES_NODE_IP"].field_ref.field_path == "status.hostIP"


def test_compute_tag_marks_where_each_step_runs(jobs):
    job = jobs(f.K8sFlow)
    assert op_tags(job, "train")["flowassets/compute"] == "kubernetes"
    assert op_tags(job, "start")["flowassets/compute"] == "local"
    assert "dagster-k8s/config" not in op_tags(job, "start")
    assert json.loads(op_tags(job, "train")["dagster-k8s/config"])["job_spec_config"]


def test_launcher_default_limits_cannot_make_the_pod_invalid(jobs):
    """DESIGN.md's DEEP-merge trap: a launcher limit of 1000Mi under an 8000M request."""
    from kubernetes.utils import parse_quantity

    launcher = {"container_config": {"resources": {"limits": {"memory": "1000Mi", "cpu": "500m"},
                                                   "requests": {"memory": "512Mi"}}}}
    requests, limits = resources(step_job(jobs(f.QosFlow), "flexible_step", launcher))
    assert requests["memory"] == "8000M"
    for key in ("cpu", "memory"):
        assert parse_quantity(requests[key]) <= parse_quantity(limits[key])
