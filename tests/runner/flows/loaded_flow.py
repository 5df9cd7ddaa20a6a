"""Loaded by tests/runner/test_source.py with importlib, without a sys.modules entry."""

from flowassets import FlowSpec, Parameter, step


class LoadedFlow(FlowSpec):
    factor = Parameter("factor", default=2)

    @step
    def start(self):
        self.items = [1, 2, 3]
        self.next(self.body, foreach="items")

    @step
    def body(self):
        self.value = self.input * self.factor
        self.next(self.join)

    @step
    def join(self, inputs):
        self.total = sum(i.value for i in inputs)
        self.next(self.end)

    @step
    def end(self):
        pass
