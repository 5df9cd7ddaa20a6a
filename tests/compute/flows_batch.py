"""@batch flows for tests/compute/test_batch.py: each class changes only ``train``."""

from flowassets import FlowSpec, step
from flowassets.authoring.decorators import batch, kubernetes, parallel, resources

ROLE = "arn:aws:iam::123456789012:role/flowassets-train"


class BatchFlow(FlowSpec):
    """start -> train -> end, train on ECS with Metaflow's @batch defaults."""

    @step
    def start(self):
        self.next(self.train)

    @batch
    @step
    def train(self):
        self.next(self.end)

    @step
    def end(self):
        pass


class GpuBatchFlow(BatchFlow):
    @batch(cpu=4, memory=16384, gpu=2, iam_role=ROLE)
    @step
    def train(self):
        self.next(self.end)


class MergedBatchFlow(BatchFlow):
    """@resources asks for more memory, @batch for more cpu: the larger of each wins."""

    @resources(cpu=1, memory=30000)
    @batch(cpu=8, memory=2048)
    @step
    def train(self):
        self.next(self.end)


class QuarterCpuFlow(BatchFlow):
    @batch(cpu=0.25, memory=512)
    @step
    def train(self):
        self.next(self.end)


class BatchAndKubernetesStep(BatchFlow):
    @kubernetes(cpu=2)
    @batch(cpu=2)
    @step
    def train(self):
        self.next(self.end)


class BatchAndKubernetesFlow(FlowSpec):
    @kubernetes
    @step
    def start(self):
        self.next(self.train)

    @batch
    @step
    def train(self):
        self.next(self.end)

    @step
    def end(self):
        pass


class BatchParallelFlow(FlowSpec):
    @step
    def start(self):
        self.next(self.train, num_parallel=2)

    @batch
    @parallel
    @step
    def train(self):
        self.next(self.join)

    @step
    def join(self, inputs):
        self.next(self.end)

    @step
    def end(self):
        pass


class BatchCpuWord(BatchFlow):
    @batch(cpu="lots")
    @step
    def train(self):
        self.next(self.end)

class BatchCpuZero(BatchFlow):
    @batch(cpu=0)
    @step
    def train(self):
        self.next(self.end)

class BatchCpuTooFine(BatchFlow):
    @batch(cpu=0.3)
    @step
    def train(self):
        self.next(self.end)

class BatchCpuTooBig(BatchFlow):
    @batch(cpu=500)
    @step
    def train(self):
        self.next(self.end)

class BatchMemoryFraction(BatchFlow):
    @batch(memory=1000.5)
    @step
    def train(self):
        self.next(self.end)

class BatchMemoryTiny(BatchFlow):
    @batch(memory=64)
    @step
    def train(self):
        self.next(self.end)

class BatchGpuNegative(BatchFlow):
    @batch(gpu=-1)
    @step
    def train(self):
        self.next(self.end)

class BatchRoleName(BatchFlow):
    @batch(iam_role="my-role")
    @step
    def train(self):
        self.next(self.end)

class BatchImage(BatchFlow):
    @batch(image="python:3.11")
    @step
    def train(self):
        self.next(self.end)

class BatchQueue(BatchFlow):
    @batch(queue="gpu-queue")
    @step
    def train(self):
        self.next(self.end)

class BatchUnknown(BatchFlow):
    @batch(max_swap=100)
    @step
    def train(self):
        self.next(self.end)


#: (flow, parameter the message must name)
BAD = [
    (BatchCpuWord, "cpu"),
    (BatchCpuZero, "cpu"),
    (BatchCpuTooFine, "cpu"),
    (BatchCpuTooBig, "cpu"),
    (BatchMemoryFraction, "memory"),
    (BatchMemoryTiny, "memory"),
    (BatchGpuNegative, "gpu"),
    (BatchRoleName, "iam_role"),
    (BatchImage, "image"),
    (BatchQueue, "queue"),
    (BatchUnknown, "max_swap"),
]
