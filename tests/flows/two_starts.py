from flowassets import FlowSpec, step


class FirstFlow(FlowSpec):
    @step
    def start(self):
        self.x = 1
        self.next(self.end)

    @step
    def end(self):
        pass


class SecondFlow(FlowSpec):
    @step
    def start(self):
        self.x = 2
        self.next(self.end)

    @step
    def end(self):
        pass
