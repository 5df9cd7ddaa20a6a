"""A foreach inside a foreach: joins close innermost first, each task keeps its own stack."""

from metaflow import FlowSpec, step


class NestedForeachFlow(FlowSpec):
    @step
    def start(self):
        self.outer = [1, 2]
        self.next(self.level1, foreach="outer")

    @step
    def level1(self):
        self.o = self.input
        self.inner = ["a", "b"]
        self.next(self.level2, foreach="inner")

    @step
    def level2(self):
        self.cell = f"{self.o}{self.input}"
        self.stack = [(i, n) for i, n, _ in self.foreach_stack()]
        self.next(self.join_inner)

    @step
    def join_inner(self, inputs):
        self.cells = sorted(inp.cell for inp in inputs)
        self.merge_artifacts(inputs, include=["o"])
        self.next(self.join_outer)

    @step
    def join_outer(self, inputs):
        self.grid = sorted(c for inp in inputs for c in inp.cells)
        self.os = sorted(inp.o for inp in inputs)
        self.next(self.end)

    @step
    def end(self):
        self.count = len(self.grid)


if __name__ == "__main__":
    NestedForeachFlow()
