"""A local step, a @kubernetes step that fans out, a foreach body on Kubernetes, local join
and end. Each step records where it ran, so a test can tell pods from local processes."""

import os

from flowassets import FlowSpec, kubernetes, step


def where() -> dict:
    """The pod (downward API variables the Kubernetes steps get) or None for a local step."""
    return {"pod": os.environ.get("FLOWASSETS_KUBERNETES_POD_NAME"),
            "namespace": os.environ.get("FLOWASSETS_KUBERNETES_POD_NAMESPACE"),
            "token": os.environ.get("API_TOKEN")}


class HybridFlow(FlowSpec):
    @step
    def start(self):
        self.items = [1, 2, 3]
        self.start_where = where()
        self.next(self.train)

    @kubernetes(cpu=0.5, memory=512)
    @step
    def train(self):
        self.total = sum(self.items)
        self.train_where = where()
        self.next(self.square, foreach="items")

    @kubernetes(memory=300)
    @step
    def square(self):
        self.squared = self.input ** 2
        self.square_where = where()
        self.next(self.join)

    @step
    def join(self, inputs):
        self.squares = sorted(i.squared for i in inputs)
        self.square_pods = sorted({i.square_where["pod"] for i in inputs})
        self.total = inputs[0].total
        self.train_where = inputs[0].train_where
        self.join_where = where()
        self.next(self.end)

    @step
    def end(self):
        self.end_where = where()
