"""A foreach over a list: self.input, self.index and foreach_stack() in each task."""

from metaflow import FlowSpec, Parameter, step


class ForeachFlow(FlowSpec):
    offset = Parameter("offset", default=100, type=int)

    @step
    def start(self):
        self.items = ["x", "yy", "zzz"]
        self.next(self.body, foreach="items")

    @step
    def body(self):
        self.item = self.input
        self.position = self.index
        self.stack = self.foreach_stack()
        self.size = len(self.input) + self.offset
        self.next(self.join)

    @step
    def join(self, inputs):
        self.sizes = sorted(inp.size for inp in inputs)
        self.pairs = sorted((inp.position, inp.item) for inp in inputs)
        self.next(self.end)

    @step
    def end(self):
        self.largest = max(self.sizes)


if __name__ == "__main__":
    ForeachFlow()
