"""One bad decorator value per flow (besides the Kubernetes ones in tests/compute/flows_bad.py).
The module imports cleanly: decorators only record what was written, ``flow_to_job`` refuses.
Each case overrides only ``start`` of ``StartFlow``."""

from flowassets import FlowSpec, catch, resources, retry, step, timeout
from flowassets.authoring.decorators import conda, kubernetes, pypi


class StartFlow(FlowSpec):
    """start -> end; valid as it is."""

    @step
    def start(self):
        self.next(self.end)

    @step
    def end(self):
        pass


class ResourcesMemoryLots(StartFlow):
    @resources(memory="lots")
    @step
    def start(self):  # <- here
        self.next(self.end)


class NegativeCpu(StartFlow):
    @kubernetes(cpu=-1)
    @step
    def start(self):  # <- here
        self.next(self.end)


class UnknownQos(StartFlow):
    @kubernetes(qos="Premium")
    @step
    def start(self):  # <- here
        self.next(self.end)


class LabelBreaksDns(StartFlow):
    @kubernetes(labels={"team": "ML Platform!"})
    @step
    def start(self):  # <- here
        self.next(self.end)


class TolerationUnknownEffect(StartFlow):
    @kubernetes(tolerations=[{"key": "a", "operator": "Equal", "value": "b", "effect": "Sometimes"}])
    @step
    def start(self):  # <- here
        self.next(self.end)


class UnknownDecoratorArgument(StartFlow):
    @retry(tims=3)
    @step
    def start(self):  # <- here
        self.next(self.end)


class NegativeRetry(StartFlow):
    @retry(times=-1)
    @step
    def start(self):  # <- here
        self.next(self.end)


class ZeroTimeout(StartFlow):
    @timeout(seconds=-5)
    @step
    def start(self):  # <- here
        self.next(self.end)


class CatchBadVar(StartFlow):
    @catch(var="not a name")
    @step
    def start(self):  # <- here
        self.next(self.end)


class PypiRefused(StartFlow):
    @pypi(packages={"pandas": "2.2.0"})
    @step
    def start(self):  # <- here
        self.next(self.end)


class CondaRefused(StartFlow):
    @conda(libraries={"numpy": "1.26"})
    @step
    def start(self):  # <- here
        self.next(self.end)
