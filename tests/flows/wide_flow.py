"""A foreach as wide as the ``width`` Parameter; every task appends to a marker file, so a test
sees whether any task started and, from the order of the +start/-end lines, how many ran at once."""

import fcntl
import time

from flowassets import FlowSpec, Parameter, step


class WideFlow(FlowSpec):
    width = Parameter("width", default=3, type=int)
    marker = Parameter("marker", default="started.txt")

    @step
    def start(self):
        self.items = list(range(self.width))
        self.next(self.body, foreach="items")

    @step
    def body(self):
        with open(self.marker, "a") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            handle.write(f"+{self.input}\n")
        time.sleep(0.3)  # overlap: the pool would run more at once if it were allowed to
        with open(self.marker, "a") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            handle.write(f"-{self.input}\n")
        self.next(self.join)

    @step
    def join(self, inputs):
        self.count = len(list(inputs))
        self.next(self.end)

    @step
    def end(self):
        pass
