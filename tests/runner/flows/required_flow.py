from metaflow import FlowSpec, Parameter, step


class RequiredFlow(FlowSpec):
    """An unchanged Metaflow file with a required parameter."""

    size = Parameter("size", type=int, required=True)

    @step
    def start(self):
        self.doubled = self.size * 2
        self.next(self.end)

    @step
    def end(self):
        pass


if __name__ == "__main__":
    RequiredFlow()
