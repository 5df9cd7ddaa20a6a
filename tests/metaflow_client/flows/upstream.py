"""An unchanged Metaflow flow: a parameter, a foreach, a join, output and a DataFrame."""

import sys

import pandas as pd
from metaflow import FlowSpec, Parameter, step


class MFClientUpstreamFlow(FlowSpec):
    scale = Parameter("scale", default=1)
    fail = Parameter("fail", default=False, type=bool)

    @step
    def start(self):
        self.items = ["a", "bb", "ccc"]
        print("upstream starts")
        print("upstream warns", file=sys.stderr)
        self.next(self.measure, foreach="items")

    @step
    def measure(self):
        self.length = len(self.input) * self.scale
        print("measured", self.input, self.length)
        self.next(self.join)

    @step
    def join(self, inputs):
        self.lengths = sorted(i.length for i in inputs)
        self.table = pd.DataFrame({"item": ["a", "bb", "ccc"], "length": self.lengths})
        self.next(self.end)

    @step
    def end(self):
        if self.fail:
            raise RuntimeError("asked to fail")
        self.total = sum(self.lengths)


if __name__ == "__main__":
    MFClientUpstreamFlow()
