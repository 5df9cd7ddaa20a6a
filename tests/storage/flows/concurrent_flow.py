"""A flow whose runs overlap on purpose: ``start`` stores a value made from the run's own
parameter, then waits until the other run has started too (files in the working directory),
so the two runs write and read the same flow's keys at the same time."""

import os
import time

from flowassets import FlowSpec, Parameter, step


class ConcurrentFlow(FlowSpec):
    who = Parameter("who", default="a", help="which of the two runs this is")

    @step
    def start(self):
        self.mine = [self.who] * 100
        self.shared = list(range(500))  # identical in both runs: one blob, written by either
        open(f"started-{self.who}", "w").close()
        deadline = time.monotonic() + 120
        while len([n for n in os.listdir(".") if n.startswith("started-")]) < 2:
            if time.monotonic() > deadline:
                raise RuntimeError("the other run never started")
            time.sleep(0.05)
        self.next(self.end)

    @step
    def end(self):
        assert self.mine == [self.who] * 100, self.mine[:3]
        self.seen = self.mine[0]
