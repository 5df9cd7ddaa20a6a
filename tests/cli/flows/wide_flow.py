from flowassets import FlowSpec, step


class WideFlow(FlowSpec):
    """A foreach of 12 tasks that print."""

    @step
    def start(self):
        self.items = list(range(12))
        self.next(self.work, foreach="items")

    @step
    def work(self):
        print("item", self.input)
        self.out = self.input * 2
        self.next(self.join)

    @step
    def join(self, inputs):
        self.total = sum(i.out for i in inputs)
        self.next(self.end)

    @step
    def end(self):
        print("total", self.total)
