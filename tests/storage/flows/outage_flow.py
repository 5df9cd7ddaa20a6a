"""A flow that pauses in its middle step until the test says go, so the test can take the
store down while a run is in flight. Files in the working directory are the handshake."""

import os
import time

from flowassets import FlowSpec, step


class OutageFlow(FlowSpec):
    @step
    def start(self):
        with open("start_runs.txt", "a") as handle:
            handle.write("x")
        self.base = list(range(1000))
        self.next(self.middle)

    @step
    def middle(self):
        if not os.path.exists("go"):
            open("reached", "w").close()
            deadline = time.monotonic() + 120
            while not os.path.exists("go") and time.monotonic() < deadline:
                time.sleep(0.05)
        self.doubled = [v * 2 for v in self.base]
        self.next(self.end)

    @step
    def end(self):
        self.total = sum(self.doubled)
