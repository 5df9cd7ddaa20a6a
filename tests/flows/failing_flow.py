from flowassets import FlowSpec, step


class FailingFlow(FlowSpec):
    @step
    def start(self):
        self.before = 1
        self.next(self.boom)

    @step
    def boom(self):
        raise ValueError("the data is bad: 42 rows missing")
        self.next(self.end)

    @step
    def end(self):
        pass
