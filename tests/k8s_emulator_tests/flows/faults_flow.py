"""One branch per pod failure a user must be told about, each provoked the way it happens on a
cluster (or, for what the emulator cannot cause, by its fault annotation: see
tests/support/k8s_emulator/README.md). Every branch fails; the test reads each step's message."""

import time

from flowassets import FlowSpec, kubernetes, step

FAULT = "emulator.flowassets.io/fail"


class FaultsFlow(FlowSpec):
    @step
    def start(self):
        self.next(self.crash, self.oom, self.unschedulable, self.imagepull, self.deadline, self.evicted)

    @kubernetes(annotations={FAULT: "exit:3"})
    @step
    def crash(self):
        self.next(self.join)

    @kubernetes(annotations={FAULT: "oomkilled"})
    @step
    def oom(self):
        self.next(self.join)

    @kubernetes(memory=900000)  # 900 GB: more than the node has, so no node can take the pod
    @step
    def unschedulable(self):
        self.next(self.join)

    @kubernetes(image="registry.example/not-there:1.0", annotations={FAULT: "imagepull"})
    @step
    def imagepull(self):
        self.next(self.join)

    @kubernetes
    @step
    def deadline(self):
        time.sleep(120)  # the Job's activeDeadlineSeconds (run config) ends the pod first
        self.next(self.join)

    @kubernetes(annotations={FAULT: "evicted"})
    @step
    def evicted(self):
        self.next(self.join)

    @step
    def join(self, inputs):
        self.next(self.end)

    @step
    def end(self):
        pass


class SlowFlow(FlowSpec):
    """A run to cancel while its Kubernetes step runs."""

    @step
    def start(self):
        self.next(self.wait)

    @kubernetes(memory=256)
    @step
    def wait(self):
        time.sleep(300)
        self.next(self.end)

    @step
    def end(self):
        pass
