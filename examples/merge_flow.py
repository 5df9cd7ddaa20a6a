"""Static split and merge_artifacts, as in Metaflow's docs."""

from flowassets import FlowSpec, step


class MergeFlow(FlowSpec):
    """Two branches compute different things; the join merges what does not conflict."""

    @step
    def start(self):
        self.base = 10
        self.shared = "same everywhere"
        self.next(self.add, self.mul)

    @step
    def add(self):
        self.total = self.base + 5
        self.only_add = True
        self.next(self.join)

    @step
    def mul(self):
        self.total = self.base * 5
        self.next(self.join)

    @step
    def join(self, inputs):
        """`total` differs per branch: combine it explicitly, merge the rest."""
        self.total = sum(inp.total for inp in inputs)
        self.merge_artifacts(inputs, exclude=["total"])
        self.next(self.end)

    @step
    def end(self):
        print(f"total={self.total} base={self.base} shared={self.shared} only_add={self.only_add}")


if __name__ == "__main__":
    MergeFlow()
