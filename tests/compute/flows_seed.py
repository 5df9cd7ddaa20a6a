"""The seed's @kubernetes examples (shared/seeds/000), one tiny flow each; the Kubernetes step is
called ``train`` unless the seed has two. Flows live in a real file because the graph parser
reads their source."""

from flowassets import FlowSpec, step
from flowassets.authoring.decorators import kubernetes, resources, retry, timeout


class K8sFlow(FlowSpec):
    """Overview: @kubernetes with @resources(cpu=4, memory=16000)."""

    @step
    def start(self):
        self.next(self.train)

    @kubernetes
    @resources(cpu=4, memory=16000)
    @step
    def train(self):
        self.next(self.end)

    @step
    def end(self):
        pass


class DefaultsFlow(FlowSpec):
    @kubernetes
    @step
    def start(self):
        self.next(self.train)

    @kubernetes
    @step
    def train(self):
        self.next(self.end)

    @step
    def end(self):
        pass


class AllocationFlow(FlowSpec):
    """Resource Allocation: cpu=4, memory=16000, disk=50000, gpu=1."""

    @step
    def start(self):
        self.next(self.train)

    @kubernetes(cpu=4, memory=16000, disk=50000, gpu=1)
    @step
    def train(self):
        self.next(self.end)

    @step
    def end(self):
        pass


class ContainerFlow(FlowSpec):
    """Container Configuration."""

    @step
    def start(self):
        self.next(self.train)

    @kubernetes(image="python:3.9", namespace="production", service_account="ml-service-account",
                image_pull_policy="Always", image_pull_secrets=["regcred"], secrets=["db-creds"])
    @step
    def train(self):
        self.next(self.end)

    @step
    def end(self):
        pass


class GpuFlow(FlowSpec):
    """GPU Support: gpu=2, nvidia, memory=64000, node selector."""

    @step
    def start(self):
        self.next(self.train)

    @kubernetes(gpu=2, gpu_vendor="nvidia", memory=64000,
                node_selector={"accelerator": "nvidia-tesla-v100"})
    @step
    def train(self):
        self.next(self.end)

    @step
    def end(self):
        pass


class AmdGpuFlow(FlowSpec):
    @step
    def start(self):
        self.next(self.train)

    @kubernetes(gpu=1, gpu_vendor="AMD")
    @step
    def train(self):
        self.next(self.end)

    @step
    def end(self):
        pass


class NodeSelectorStringFlow(FlowSpec):
    """Node Selectors, string form."""

    @step
    def start(self):
        self.next(self.train)

    @kubernetes(node_selector="instance-type=n1-standard-8,zone=us-central1-a")
    @step
    def train(self):
        self.next(self.end)

    @step
    def end(self):
        pass


class TolerationsFlow(FlowSpec):
    """Tolerations: schedule on tainted nodes."""

    @step
    def start(self):
        self.next(self.train)

    @kubernetes(tolerations=[
        {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"},
        {"key": "workload", "operator": "Equal", "value": "ml", "effect": "NoSchedule"},
    ])
    @step
    def train(self):
        self.next(self.end)

    @step
    def end(self):
        pass


class PvcFlow(FlowSpec):
    """Persistent Volume Claims."""

    @step
    def start(self):
        self.next(self.train)

    @kubernetes(persistent_volume_claims={"data-pvc": "/mnt/data", "models-pvc": "/mnt/models",
                                          "cache-pvc": "/mnt/cache"})
    @step
    def train(self):
        self.next(self.end)

    @step
    def end(self):
        pass


class TmpfsFlow(FlowSpec):
    """Tmpfs for Fast I/O."""

    @step
    def start(self):
        self.next(self.train)

    @kubernetes(use_tmpfs=True, tmpfs_size=10240, tmpfs_path="/fast-tmp", tmpfs_tempdir=True)
    @step
    def train(self):
        self.next(self.end)

    @step
    def end(self):
        pass


class TmpfsDefaultSizeFlow(FlowSpec):
    """use_tmpfs without a size: half of memory (Metaflow's default), at /metaflow_temp."""

    @step
    def start(self):
        self.next(self.train)

    @kubernetes(use_tmpfs=True, memory=8000, tmpfs_tempdir=False)
    @step
    def train(self):
        self.next(self.end)

    @step
    def end(self):
        pass


class StorageFlow(FlowSpec):
    """Storage Configuration: PVC, tmpfs at /tmp, shared memory."""

    @step
    def start(self):
        self.next(self.train)

    @kubernetes(persistent_volume_claims={"data-pvc": "/mnt/data"}, use_tmpfs=True, tmpfs_size=8192,
                tmpfs_path="/tmp", shared_memory=1024)
    @step
    def train(self):
        self.next(self.end)

    @step
    def end(self):
        pass


class SharedMemoryFlow(FlowSpec):
    """Shared Memory: 8 GB /dev/shm."""

    @step
    def start(self):
        self.next(self.train)

    @kubernetes(shared_memory=8192)
    @step
    def train(self):
        self.next(self.end)

    @step
    def end(self):
        pass


class AdvancedFlow(FlowSpec):
    """Advanced Options: labels, annotations, port, qos, security context."""

    @step
    def start(self):
        self.next(self.train)

    @kubernetes(labels={"team": "ml", "project": "recommendations"},
                annotations={"prometheus.io/scrape": "true"}, port=8080, qos="Guaranteed",
                security_context={"run_as_user": 1000, "run_as_non_root": True,
                                  "capabilities": {"drop": ["ALL"]}})
    @step
    def train(self):
        self.next(self.end)

    @step
    def end(self):
        pass


class QosFlow(FlowSpec):
    """Quality of Service: one Guaranteed and one Burstable step."""

    @step
    def start(self):
        self.next(self.critical_step)

    @kubernetes(qos="Guaranteed", cpu=4, memory=16000)
    @step
    def critical_step(self):
        self.next(self.flexible_step)

    @kubernetes(qos="Burstable", cpu=2, memory=8000)
    @step
    def flexible_step(self):
        self.next(self.end)

    @step
    def end(self):
        pass


class MergeFlow(FlowSpec):
    """@resources and @kubernetes: the larger value of each wins."""

    @step
    def start(self):
        self.next(self.train)

    @kubernetes(cpu=8, memory=1000, disk=20000)
    @resources(cpu=2, memory=16000, gpu=1, shared_memory=512)
    @step
    def train(self):
        self.next(self.end)

    @step
    def end(self):
        pass


class TimeoutFlow(FlowSpec):
    """@timeout(hours=2) shortens the 5-day Kubernetes deadline; @retry multiplies it."""

    @step
    def start(self):
        self.next(self.train)

    @timeout(hours=2)
    @kubernetes
    @step
    def train(self):
        self.next(self.retried)

    @retry(times=2, minutes_between_retries=1)
    @timeout(minutes=10)
    @kubernetes
    @step
    def retried(self):
        self.next(self.end)

    @step
    def end(self):
        pass


class ForeachTimeoutFlow(FlowSpec):
    """A foreach body runs all its tasks in one pod: @timeout stays per task."""

    @step
    def start(self):
        self.items = [1, 2, 3]
        self.next(self.train, foreach="items")

    @timeout(minutes=5)
    @kubernetes
    @step
    def train(self):
        self.next(self.join)

    @step
    def join(self, inputs):
        self.next(self.end)

    @step
    def end(self):
        pass


class LocalFlow(FlowSpec):
    """No decorators: local unless --with kubernetes."""

    @step
    def start(self):
        self.next(self.train)

    @resources(cpu=3, memory=6000)
    @step
    def train(self):
        self.next(self.end)

    @kubernetes(cpu=2, image="registry.example.com/own:1")
    @step
    def end(self):
        pass
