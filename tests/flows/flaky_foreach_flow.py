"""A foreach of 6 whose task 3 fails until ``$MARKS/fixed`` exists.

Every task execution appends to ``$MARKS/work-<index>`` (and prints), so a test counts how
often each task ran across a run and its resume and reads its output back."""

import os

from flowassets import FlowSpec, step


class FlakyForeachFlow(FlowSpec):
    @step
    def start(self):
        self.items = list(range(6))
        self.next(self.work, foreach="items")

    @step
    def work(self):
        marks = os.environ["MARKS"]
        with open(os.path.join(marks, f"work-{self.input}"), "a") as handle:
            handle.write("x")
        print(f"working on {self.input}")
        if self.input == 3 and not os.path.exists(os.path.join(marks, "fixed")):
            raise RuntimeError("task 3 is not fixed yet")
        self.square = self.input * self.input
        self.next(self.join)

    @step
    def join(self, inputs):
        self.squares = sorted(i.square for i in inputs)
        self.next(self.end)

    @step
    def end(self):
        pass


if __name__ == "__main__":
    FlakyForeachFlow()
