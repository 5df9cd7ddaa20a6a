"""A foreach whose tasks run as pods and each draw a card (written by the pod to the S3 store)."""

import os

from flowassets import FlowSpec, card, current, kubernetes, step
from flowassets.cards import Markdown


class CardPodsFlow(FlowSpec):
    @step
    def start(self):
        self.items = ["a", "b"]
        self.next(self.draw, foreach="items")

    @card
    @kubernetes(cpu=0.1, memory=256)
    @step
    def draw(self):
        self.pod = os.environ.get("FLOWASSETS_KUBERNETES_POD_NAME")
        current.card.append(Markdown(f"# item {self.input} in pod {self.pod}"))
        self.next(self.join)

    @step
    def join(self, inputs):
        self.pods = sorted(i.pod for i in inputs)
        self.next(self.end)

    @step
    def end(self):
        pass
