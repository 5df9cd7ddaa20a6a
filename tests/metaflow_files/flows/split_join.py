"""A static 3-way split and its join, with typed Parameters and `current`: plain Metaflow."""

from metaflow import FlowSpec, JSONType, Parameter, current, step


class SplitJoinFlow(FlowSpec):
    alpha = Parameter("alpha", default=2, type=int, help="multiplier")
    config = Parameter("config", default='{"k": [1, 2]}', type=JSONType)

    @step
    def start(self):
        self.base = self.alpha * 10
        self.step_seen = current.step_name
        self.next(self.a, self.b, self.c)

    @step
    def a(self):
        self.value = self.base + 1
        self.next(self.join)

    @step
    def b(self):
        self.value = self.base + 2
        self.tag_b = ("b", 2.5)
        self.next(self.join)

    @step
    def c(self):
        self.value = self.base + 3
        self.next(self.join)

    @step
    def join(self, inputs):
        self.values = sorted(inp.value for inp in inputs)
        self.from_b = inputs.b.tag_b
        self.keys = sorted(self.config)
        self.next(self.end)

    @step
    def end(self):
        self.total = sum(self.values) + self.alpha
        self.flow_seen = current.flow_name


if __name__ == "__main__":
    SplitJoinFlow()
