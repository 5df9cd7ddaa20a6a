"""A flow that exercises the store: a DataFrame, a foreach whose tasks write in forked children,
a join reading every branch, and a value (the constant table) every task saves unchanged."""

from flowassets import FlowSpec, step


class StoreFlow(FlowSpec):
    @step
    def start(self):
        import pandas as pd

        self.table = pd.DataFrame({"x": [1, 2, 3], "label": ["a", "b", "c"]})
        self.shards = [0, 1, 2]
        self.next(self.square, foreach="shards")

    @step
    def square(self):
        self.squared = [v * v for v in self.table["x"]] + [self.input]
        self.next(self.join)

    @step
    def join(self, inputs):
        self.total = sum(sum(inp.squared) for inp in inputs)
        self.table = inputs[0].table
        self.next(self.end)

    @step
    def end(self):
        self.rows = len(self.table)
