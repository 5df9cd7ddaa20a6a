import os
from flowassets import FlowSpec, step

class ResumeFlow(FlowSpec):
    @step
    def start(self):
        with open("start_runs.txt", "a") as f: f.write("x")
        self.items = [1, 2, 3]
        self.next(self.body, foreach="items")
    @step
    def body(self):
        with open("body_runs.txt", "a") as f: f.write("x")
        self.v = self.input * 2
        self.next(self.join)
    @step
    def join(self, inputs):
        if not os.path.exists("fixed"):
            raise RuntimeError("not fixed yet")
        self.total = sum(i.v for i in inputs)
        self.next(self.end)
    @step
    def end(self):
        pass
