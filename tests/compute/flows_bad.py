"""One bad @kubernetes/@resources value per flow. Every file here must IMPORT fine: decorators
only record what was written; ``flow_to_job`` refuses the value. ``CASES`` lists (flow,
parameter) for the tests. Each case overrides only ``train`` of ``TrainFlow``."""

from flowassets import FlowSpec, step
from flowassets.authoring.decorators import kubernetes, resources


class TrainFlow(FlowSpec):
    """start -> train -> end; valid as it is (the tests build it as a control)."""

    @step
    def start(self):
        self.next(self.train)

    @step
    def train(self):
        self.next(self.end)

    @step
    def end(self):
        pass


class BadCpu(TrainFlow):
    @kubernetes(cpu="lots")
    @step
    def train(self):
        self.next(self.end)


class ZeroCpu(TrainFlow):
    @kubernetes(cpu=0)
    @step
    def train(self):
        self.next(self.end)


class NegativeMemory(TrainFlow):
    @kubernetes(memory=-1)
    @step
    def train(self):
        self.next(self.end)


class BadDisk(TrainFlow):
    @kubernetes(disk="big")
    @step
    def train(self):
        self.next(self.end)


class FractionalGpu(TrainFlow):
    @kubernetes(gpu=1.5)
    @step
    def train(self):
        self.next(self.end)


class BadGpuVendor(TrainFlow):
    @kubernetes(gpu=1, gpu_vendor="intel")
    @step
    def train(self):
        self.next(self.end)


class BadImage(TrainFlow):
    @kubernetes(image="my image:1")
    @step
    def train(self):
        self.next(self.end)


class BadPullPolicy(TrainFlow):
    @kubernetes(image_pull_policy="Sometimes")
    @step
    def train(self):
        self.next(self.end)


class BadPullSecret(TrainFlow):
    @kubernetes(image_pull_secrets=["Reg_Cred"])
    @step
    def train(self):
        self.next(self.end)


class BadNamespace(TrainFlow):
    @kubernetes(namespace="Prod_NS")
    @step
    def train(self):
        self.next(self.end)


class BadServiceAccount(TrainFlow):
    @kubernetes(service_account="ML Account")
    @step
    def train(self):
        self.next(self.end)


class BadNodeSelectorString(TrainFlow):
    @kubernetes(node_selector="zone")
    @step
    def train(self):
        self.next(self.end)


class BadNodeSelectorValue(TrainFlow):
    @kubernetes(node_selector={"zone": "us west"})
    @step
    def train(self):
        self.next(self.end)


class BadTolerationOperator(TrainFlow):
    @kubernetes(tolerations=[{"key": "gpu", "operator": "Maybe"}])
    @step
    def train(self):
        self.next(self.end)


class BadTolerationEffect(TrainFlow):
    @kubernetes(tolerations=[{"key": "gpu", "operator": "Exists", "effect": "NoRun"}])
    @step
    def train(self):
        self.next(self.end)


class ExistsWithValue(TrainFlow):
    @kubernetes(tolerations=[{"key": "a", "operator": "Exists", "value": "x"}])
    @step
    def train(self):
        self.next(self.end)


class BadPvcName(TrainFlow):
    @kubernetes(persistent_volume_claims={"Data_PVC": "/mnt/data"})
    @step
    def train(self):
        self.next(self.end)


class RelativePvcPath(TrainFlow):
    @kubernetes(persistent_volume_claims={"data": "mnt/data"})
    @step
    def train(self):
        self.next(self.end)


class RelativeTmpfsPath(TrainFlow):
    @kubernetes(use_tmpfs=True, tmpfs_path="tmp")
    @step
    def train(self):
        self.next(self.end)


class ZeroTmpfsSize(TrainFlow):
    @kubernetes(tmpfs_size=0)
    @step
    def train(self):
        self.next(self.end)


class TmpfsOnShm(TrainFlow):
    @kubernetes(use_tmpfs=True, tmpfs_path="/dev/shm")
    @step
    def train(self):
        self.next(self.end)


class BadSharedMemory(TrainFlow):
    @kubernetes(shared_memory="lots")
    @step
    def train(self):
        self.next(self.end)


class LongLabelValue(TrainFlow):
    @kubernetes(labels={"team": "x" * 64})
    @step
    def train(self):
        self.next(self.end)


class BadLabelKey(TrainFlow):
    @kubernetes(labels={"bad key!": "v"})
    @step
    def train(self):
        self.next(self.end)


class BadAnnotationKey(TrainFlow):
    @kubernetes(annotations={"-bad": "v"})
    @step
    def train(self):
        self.next(self.end)


class BadPort(TrainFlow):
    @kubernetes(port=70000)
    @step
    def train(self):
        self.next(self.end)


class BadQos(TrainFlow):
    @kubernetes(qos="BestEffort")
    @step
    def train(self):
        self.next(self.end)


class NegativeRunAsUser(TrainFlow):
    @kubernetes(security_context={"run_as_user": -1})
    @step
    def train(self):
        self.next(self.end)


class CamelSecurityContext(TrainFlow):
    @kubernetes(security_context={"runAsNonRoot": True})
    @step
    def train(self):
        self.next(self.end)


class BadUseTmpfs(TrainFlow):
    @kubernetes(use_tmpfs="yes")
    @step
    def train(self):
        self.next(self.end)


class UnknownArgument(TrainFlow):
    @kubernetes(cpus=2)
    @step
    def train(self):
        self.next(self.end)


class BadResourcesMemory(TrainFlow):
    @kubernetes
    @resources(memory="lots")
    @step
    def train(self):
        self.next(self.end)


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
