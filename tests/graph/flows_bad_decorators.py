"""One bad decorator value per flow (besides the Kubernetes ones in tests/compute/flows_bad.py).
The module imports cleanly: decorators only record what was written, ``flow_to_job`` refuses."""

from flowassets import FlowSpec, catch, resources, retry, step, timeout
from flowassets.authoring.decorators import conda, kubernetes, pypi


class ResourcesMemoryLots(FlowSpec):
    @resources(memory="lots")
    @step
    def start(self):  # <- here
        self.next(self.end)

    @step
    def end(self):
        pass


class NegativeCpu(FlowSpec):
    @kubernetes(cpu=-1)
    @step
    def start(self):  # <- here
        self.next(self.end)

    @step
    def end(self):
        pass


class UnknownQos(FlowSpec):
    @kubernetes(qos="Premium")
    @step
    def start(self):  # <- here
        self.next(self.end)

    @step
    def end(self):
        pass


class LabelBreaksDns(FlowSpec):
    @kubernetes(labels={"team": "ML Platform!"})
    @step
    def start(self):  # <- here
        self.next(self.end)

    @step
    def end(self):
        pass


class TolerationUnknownEffect(FlowSpec):
    @kubernetes(tolerations=[{"key": "a", "operator": "Equal", "value": "b", "effect": "Sometimes"}])
    @step
    def start(self):  # <- here
        self.next(self.end)

    @step
    def end(self):
        pass


class UnknownDecoratorArgument(FlowSpec):
    @retry(tims=3)
    @step
    def start(self):  # <- here
        self.next(self.end)

    @step
    def end(self):
        pass


class NegativeRetry(FlowSpec):
    @retry(times=-1)
    @step
    def start(self):  # <- here
        self.next(self.end)

    @step
    def end(self):
        pass


class ZeroTimeout(FlowSpec):
    @timeout(seconds=-5)
    @step
    def start(self):  # <- here
        self.next(self.end)

    @step
    def end(self):
        pass


class CatchBadVar(FlowSpec):
    @catch(var="not a name")
    @step
    def start(self):  # <- here
        self.next(self.end)

    @step
    def end(self):
        pass


class PypiRefused(FlowSpec):
    @pypi(packages={"pandas": "2.2.0"})
    @step
    def start(self):  # <- here
        self.next(self.end)

    @step
    def end(self):
        pass


class CondaRefused(FlowSpec):
    @conda(libraries={"numpy": "1.26"})
    @step
    def start(self):  # <- here
        self.next(self.end)

    @step
    def end(self):
        pass
