"""merge_artifacts with include and exclude, equal values from several branches, and names
the join sets itself (skipped by the merge)."""

from metaflow import FlowSpec, step


class MergeFlow(FlowSpec):
    @step
    def start(self):
        self.shared = "same"
        self.overwritten = 0
        self.next(self.left, self.right)

    @step
    def left(self):
        self.only_left = [1, 2]
        self.common = {"v": 5}
        self.overwritten = 1
        self.next(self.join)

    @step
    def right(self):
        self.only_right = (3, 4)
        self.common = {"v": 5}
        self.overwritten = 2
        self.next(self.join)

    @step
    def join(self, inputs):
        self.overwritten = max(inp.overwritten for inp in inputs)
        self.merge_artifacts(inputs, exclude=["only_right"])
        self.next(self.split_again)

    @step
    def split_again(self):
        self.next(self.p, self.q)

    @step
    def p(self):
        self.pv = 1
        self.next(self.join_include)

    @step
    def q(self):
        self.qv = 2
        self.next(self.join_include)

    @step
    def join_include(self, inputs):
        self.merge_artifacts(inputs, include=["pv", "shared"])
        self.next(self.end)

    @step
    def end(self):
        pass


if __name__ == "__main__":
    MergeFlow()
