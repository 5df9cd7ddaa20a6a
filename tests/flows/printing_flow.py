"""A foreach whose tasks print to stdout and stderr: what the Dagster UI shows per step."""

import sys

from flowassets import FlowSpec, Parameter, step


class PrintingFlow(FlowSpec):
    """Each task says which item it has, on both streams."""

    prefix = Parameter("prefix", default="item", help="printed before each item")

    @step
    def start(self):
        self.items = ["a", "bb", "ccc"]
        self.unchanged = "passed along"
        self.next(self.shout, foreach="items")

    @step
    def shout(self):
        self.text = f"{self.prefix}-{self.input}"
        print(f"stdout says {self.text}")
        print(f"stderr says {self.text}", file=sys.stderr)
        self.next(self.join)

    @step
    def join(self, inputs):
        self.texts = [inp.text for inp in inputs]
        self.next(self.end)

    @step
    def end(self):
        pass
