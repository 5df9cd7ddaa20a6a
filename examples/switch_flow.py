"""A switch inside a foreach, steered by a Parameter."""

from flowassets import FlowSpec, Parameter, step


class SwitchFlow(FlowSpec):
    """Each item is routed to a cheap or an expensive path."""

    threshold = Parameter("threshold", default=3, type=int, help="items above go the slow path")

    @step
    def start(self):
        self.items = [1, 2, 3, 4, 5]
        self.next(self.route, foreach="items")

    @step
    def route(self):
        self.value = self.input
        self.path = "slow" if self.value > self.threshold else "fast"
        self.next({"fast": self.fast, "slow": self.slow}, condition="path")

    @step
    def fast(self):
        self.result = self.value * 10
        self.next(self.collect)

    @step
    def slow(self):
        self.result = self.value * 1000
        self.next(self.collect)

    @step
    def collect(self):
        self.next(self.join)

    @step
    def join(self, inputs):
        self.results = sorted(i.result for i in inputs)
        self.paths = sorted(i.path for i in inputs)
        self.next(self.end)

    @step
    def end(self):
        print(self.results, self.paths)


if __name__ == "__main__":
    SwitchFlow()
