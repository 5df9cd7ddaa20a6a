from flowassets import FlowSpec, JSONType, Parameter, step


class ParamsFlow(FlowSpec):
    """Exercises every Parameter type."""

    count = Parameter("count", default=2, type=int, help="how many")
    ratio = Parameter("ratio", default=0.5, help="a float")
    loud = Parameter("loud", default=False, type=bool)
    label = Parameter("label", default="x")
    config = Parameter("config", default='{"a": 1}', type=JSONType)

    @step
    def start(self):
        """First step."""
        self.total = self.count * self.ratio
        self.next(self.end)

    @step
    def end(self):
        self.summary = (self.count, self.ratio, self.loud, self.label, self.config)
