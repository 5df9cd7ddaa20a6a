from metaflow import FlowSpec, retry, stamped, step


class StampedFlow(FlowSpec):
    @stamped
    @step
    def start(self):
        self.items = [1, 2, 3]
        self.next(self.each, foreach="items")

    @retry(times=1, minutes_between_retries=0)
    @stamped(forgive=True)
    @step
    def each(self):
        self.value = self.input * 10
        self.complaint = "two is forgiven" if self.input == 2 else None
        self.next(self.join)

    @stamped
    @step
    def join(self, inputs):
        self.values = sorted(i.value for i in inputs)
        self.next(self.end)

    @step
    def end(self):
        pass


if __name__ == "__main__":
    StampedFlow()
