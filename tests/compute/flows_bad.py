"""One bad @kubernetes/@resources value per flow. Every file here must IMPORT fine: decorators
only record what was written; ``flow_to_job`` refuses the value. ``CASES`` lists (flow,
parameter) for the tests."""

from flowassets import FlowSpec, step
from flowassets.authoring.decorators import kubernetes, resources


class BadCpu(FlowSpec):
    @step
    def start(self):
        self.next(self.train)

    @kubernetes(cpu="lots")
    @step
    def train(self):
        self.next(self.end)

    @step
    def end(self):
        pass


class ZeroCpu(FlowSpec):
    @step
    def start(self):
        self.next(self.train)

    @kubernetes(cpu=0)
    @step
    def train(self):
        self.next(self.end)

    @step
    def end(self):
        pass


class NegativeMemory(FlowSpec):
    @step
    def start(self):
        self.next(self.train)

    @kubernetes(memory=-1)
    @step
    def train(self):
        self.next(self.end)

    @step
    def end(self):
        pass


class BadDisk(FlowSpec):
    @step
    def start(self):
        self.next(self.train)

    @kubernetes(disk="big")
    @step
    def train(self):
        self.next(self.end)

    @step
    def end(self):
        pass


class FractionalGpu(FlowSpec):
    @step
    def start(self):
        self.next(self.train)

    @kubernetes(gpu=1.5)
    @step
    def train(self):
        self.next(self.end)

    @step
    def end(self):
        pass


class BadGpuVendor(FlowSpec):
    @step
    def start(self):
        self.next(self.train)

    @kubernetes(gpu=1, gpu_vendor="intel")
    @step
    def train(self):
        self.next(self.end)

    @step
    def end(self):
        pass


class BadImage(FlowSpec):
    @step
    def start(self):
        self.next(self.train)

    @kubernetes(image="my image:1")
    @step
    def train(self):
        self.next(self.end)

    @step
    def end(self):
        pass


class BadPullPolicy(FlowSpec):
    @step
    def start(self):
        self.next(self.train)

    @kubernetes(image_pull_policy="Sometimes")
    @step
    def train(self):
        self.next(self.end)

    @step
    def end(self):
        pass


class BadPullSecret(FlowSpec):
    @step
    def start(self):
        self.next(self.train)

    @kubernetes(image_pull_secrets=["Reg_Cred"])
    @step
    def train(self):
        self.next(self.end)

    @step
    def end(self):
        pass


class BadNamespace(FlowSpec):
    @step
    def start(self):
        self.next(self.train)

    @kubernetes(namespace="Prod_NS")
    @step
    def train(self):
        self.next(self.end)

    @step
    def end(self):
        pass


class BadServiceAccount(FlowSpec):
    @step
    def start(self):
        self.next(self.train)

    @kubernetes(service_account="ML Account")
    @step
    def train(self):
        self.next(self.end)

    @step
    def end(self):
        pass


class BadNodeSelectorString(FlowSpec):
    @step
    def start(self):
        self.next(self.train)

    @kubernetes(node_selector="zone")
    @step
    def train(self):
        self.next(self.end)

    @step
    def end(self):
        pass


class BadNodeSelectorValue(FlowSpec):
    @step
    def start(self):
        self.next(self.train)

    @kubernetes(node_selector={"zone": "us west"})
    @step
    def train(self):
        self.next(self.end)

    @step
    def end(self):
        pass


class BadTolerationOperator(FlowSpec):
    @step
    def start(self):
        self.next(self.train)

    @kubernetes(tolerations=[{"key": "gpu", "operator": "Maybe"}])
    @step
    def train(self):
        self.next(self.end)

    @step
    def end(self):
        pass


class BadTolerationEffect(FlowSpec):
    @step
    def start(self):
        self.next(self.train)

    @kubernetes(tolerations=[{"key": "gpu", "operator": "Exists", "effect": "NoRun"}])
    @step
    def train(self):
        self.next(self.end)

    @step
    def end(self):
        pass


class ExistsWithValue(FlowSpec):
    @step
    def start(self):
        self.next(self.train)

    @kubernetes(tolerations=[{"key": "a", "operator": "Exists", "value": "x"}])
    @step
    def train(self):
        self.next(self.end)

    @step
    def end(self):
        pass


class BadPvcName(FlowSpec):
    @step
    def start(self):
        self.next(self.train)

    @kubernetes(persistent_volume_claims={"Data_PVC": "/mnt/data"})
    @step
    def train(self):
        self.next(self.end)

    @step
    def end(self):
        pass


class RelativePvcPath(FlowSpec):
    @step
    def start(self):
        self.next(self.train)

    @kubernetes(persistent_volume_claims={"data": "mnt/data"})
    @step
    def train(self):
        self.next(self.end)

    @step
    def end(self):
        pass


class RelativeTmpfsPath(FlowSpec):
    @step
    def start(self):
        self.next(self.train)

    @kubernetes(use_tmpfs=True, tmpfs_path="tmp")
    @step
    def train(self):
        self.next(self.end)

    @step
    def end(self):
        pass


class ZeroTmpfsSize(FlowSpec):
    @step
    def start(self):
        self.next(self.train)

    @kubernetes(tmpfs_size=0)
    @step
    def train(self):
        self.next(self.end)

    @step
    def end(self):
        pass


class TmpfsOnShm(FlowSpec):
    @step
    def start(self):
        self.next(self.train)

    @kubernetes(use_tmpfs=True, tmpfs_path="/dev/shm")
    @step
    def train(self):
        self.next(self.end)

    @step
    def end(self):
        pass


class BadSharedMemory(FlowSpec):
    @step
    def start(self):
        self.next(self.train)

    @kubernetes(shared_memory="lots")
    @step
    def train(self):
        self.next(self.end)

    @step
    def end(self):
        pass


class LongLabelValue(FlowSpec):
    @step
    def start(self):
        self.next(self.train)

    @kubernetes(labels={"team": "x" * 64})
    @step
    def train(self):
        self.next(self.end)

    @step
    def end(self):
        pass


class BadLabelKey(FlowSpec):
    @step
    def start(self):
        self.next(self.train)

    @kubernetes(labels={"bad key!": "v"})
    @step
    def train(self):
        self.next(self.end)

    @step
    def end(self):
        pass


class BadAnnotationKey(FlowSpec):
    @step
    def start(self):
        self.next(self.train)

    @kubernetes(annotations={"-bad": "v"})
    @step
    def train(self):
        self.next(self.end)

    @step
    def end(self):
        pass


class BadPort(FlowSpec):
    @step
    def start(self):
        self.next(self.train)

    @kubernetes(port=70000)
    @step
    def train(self):
        self.next(self.end)

    @step
    def end(self):
        pass


class BadQos(FlowSpec):
    @step
    def start(self):
        self.next(self.train)

    @kubernetes(qos="BestEffort")
    @step
    def train(self):
        self.next(self.end)

    @step
    def end(self):
        pass


class NegativeRunAsUser(FlowSpec):
    @step
    def start(self):
        self.next(self.train)

    @kubernetes(security_context={"run_as_user": -1})
    @step
    def train(self):
        self.next(self.end)

    @step
    def end(self):
        pass


class CamelSecurityContext(FlowSpec):
    @step
    def start(self):
        self.next(self.train)

    @kubernetes(security_context={"runAsNonRoot": True})
    @step
    def train(self):
        self.next(self.end)

    @step
    def end(self):
        pass


class BadUseTmpfs(FlowSpec):
    @step
    def start(self):
        self.next(self.train)

    @kubernetes(use_tmpfs="yes")
    @step
    def train(self):
        self.next(self.end)

    @step
    def end(self):
        pass


class UnknownArgument(FlowSpec):
    @step
    def start(self):
        self.next(self.train)

    @kubernetes(cpus=2)
    @step
    def train(self):
        self.next(self.end)

    @step
    def end(self):
        pass


class BadResourcesMemory(FlowSpec):
    @step
    def start(self):
        self.next(self.train)

    @kubernetes
    @resources(memory="lots")
    @step
    def train(self):
        self.next(self.end)

    @step
    def end(self):
        pass


CASES = [
    (BadCpu, 'cpu'),
    (ZeroCpu, 'cpu'),
    (NegativeMemory, 'memory'),
    (BadDisk, 'disk'),
    (FractionalGpu, 'gpu'),
    (BadGpuVendor, 'gpu_vendor'),
    (BadImage, 'image'),
    (BadPullPolicy, 'image_pull_policy'),
    (BadPullSecret, 'image_pull_secrets'),
    (BadNamespace, 'namespace'),
    (BadServiceAccount, 'service_account'),
    (BadNodeSelectorString, 'node_selector'),
    (BadNodeSelectorValue, 'node_selector'),
    (BadTolerationOperator, 'tolerations'),
    (BadTolerationEffect, 'tolerations'),
    (ExistsWithValue, 'tolerations'),
    (BadPvcName, 'persistent_volume_claims'),
    (RelativePvcPath, 'persistent_volume_claims'),
    (RelativeTmpfsPath, 'tmpfs_path'),
    (ZeroTmpfsSize, 'tmpfs_size'),
    (TmpfsOnShm, 'tmpfs_path'),
    (BadSharedMemory, 'shared_memory'),
    (LongLabelValue, 'labels'),
    (BadLabelKey, 'labels'),
    (BadAnnotationKey, 'annotations'),
    (BadPort, 'port'),
    (BadQos, 'qos'),
    (NegativeRunAsUser, 'security_context'),
    (CamelSecurityContext, 'security_context'),
    (BadUseTmpfs, 'use_tmpfs'),
    (UnknownArgument, 'cpus'),
    (BadResourcesMemory, 'memory'),
]
