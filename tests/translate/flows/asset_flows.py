"""Flows whose artifacts become assets: one shape each."""

from flowassets import FlowSpec, Parameter, step


class TrainFlow(FlowSpec):
    """Features -> a foreach of fits -> the best model."""

    scale = Parameter("scale", type=int, default=2)

    @step
    def start(self):
        self.features = [1, 2, 3]
        self.alphas = [0.1, 0.5]
        self.next(self.fit, foreach="alphas")

    @step
    def fit(self):
        self.score = sum(self.features) * self.input
        self.next(self.pick)

    @step
    def pick(self, inputs):
        self.model = {"best": max(i.score for i in inputs) * inputs[0].scale}
        self.next(self.end)

    @step
    def end(self):
        self.summary = f"model {self.model['best']:.1f}"


class SometimesFlow(FlowSpec):
    @step
    def start(self):
        if False:
            self.maybe = 1
        self.always = 2
        self.next(self.end)

    @step
    def end(self):
        pass
