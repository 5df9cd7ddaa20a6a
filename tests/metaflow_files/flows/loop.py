"""Loops (Metaflow 2.19's recursive switch): a switch case that names its own step, once on its
own and once inside a foreach, where each item loops a different number of times."""

from metaflow import FlowSpec, Parameter, step


class LoopFlow(FlowSpec):
    target = Parameter("target", default=4, type=int)

    @step
    def start(self):
        self.count = 0
        self.history = []
        self.next(self.grow)

    @step
    def grow(self):
        self.count += 1
        self.history.append(self.count * 10)  # mutated in place, pass after pass
        self.status = "more" if self.count < self.target else "enough"
        self.next({"more": self.grow, "enough": self.fan}, condition="status")

    @step
    def fan(self):
        self.items = [("a", 2), ("b", 3)]
        self.next(self.prepare, foreach="items")

    @step
    def prepare(self):
        self.label, self.rounds = self.input
        self.done = 0
        self.next(self.spin)

    @step
    def spin(self):
        self.done += 1
        self.again = str(self.done < self.rounds)
        self.next({"True": self.spin, "False": self.leave}, condition="again")

    @step
    def leave(self):
        self.summary = f"{self.label}:{self.done}"
        self.next(self.join)

    @step
    def join(self, inputs):
        self.summaries = sorted(inp.summary for inp in inputs)
        self.merge_artifacts(inputs, include=["count", "history"])
        self.next(self.end)

    @step
    def end(self):
        self.final = (self.count, sum(self.history), self.summaries)


if __name__ == "__main__":
    LoopFlow()
