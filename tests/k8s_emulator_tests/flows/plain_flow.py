"""No decorators: every step is local unless the run says --with kubernetes."""

import os

from flowassets import FlowSpec, step


class PlainFlow(FlowSpec):
    @step
    def start(self):
        self.items = ["a", "b"]
        self.start_pod = os.environ.get("FLOWASSETS_KUBERNETES_POD_NAME")
        self.next(self.shout, foreach="items")

    @step
    def shout(self):
        self.loud = self.input.upper()
        self.next(self.join)

    @step
    def join(self, inputs):
        self.words = sorted(i.loud for i in inputs)
        self.next(self.end)

    @step
    def end(self):
        self.end_pod = os.environ.get("FLOWASSETS_KUBERNETES_POD_NAME")
