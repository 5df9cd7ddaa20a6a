"""A foreach whose tasks take different times, so a driver killed mid-step has some finished.

Every task execution appends to ``$MARKS/<step>-<index>``: the tests count how often each task
ran across a run and its resume. ``SLOW_S``: seconds per foreach index (task i takes i*SLOW_S);
``JOIN_S``: how long the join sleeps (after marking that it started); ``GATE``: a file the join
waits for, so a test decides when the run may finish.
"""

import os
import time

from flowassets import FlowSpec, step


def _mark(name: str) -> None:
    with open(os.path.join(os.environ["MARKS"], name), "a") as handle:
        handle.write("x")


class SlowForeachFlow(FlowSpec):
    @step
    def start(self):
        _mark("start")
        self.items = list(range(6))
        self.next(self.work, foreach="items")

    @step
    def work(self):
        _mark(f"work-{self.input}")
        time.sleep(float(os.environ.get("SLOW_S", "0")) * self.input)
        self.square = self.input * self.input
        self.next(self.join)

    @step
    def join(self, inputs):
        _mark("join")
        time.sleep(float(os.environ.get("JOIN_S", "0")))
        gate = os.environ.get("GATE")
        while gate and not os.path.exists(gate):
            time.sleep(0.05)
        self.squares = sorted(i.square for i in inputs)
        self.total = sum(self.squares)
        self.next(self.end)

    @step
    def end(self):
        _mark("end")
        print("total", self.total)


if __name__ == "__main__":
    SlowForeachFlow()
