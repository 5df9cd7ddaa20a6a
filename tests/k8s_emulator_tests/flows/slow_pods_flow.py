"""A foreach on Kubernetes whose task i takes i * slow_s seconds: killed mid-step, some finished."""

import time

from flowassets import FlowSpec, Parameter, current, kubernetes, step


class SlowPodsFlow(FlowSpec):
    slow_s = Parameter("slow_s", default=0.0, type=float)

    @step
    def start(self):
        self.items = list(range(6))
        self.next(self.work, foreach="items")

    @kubernetes(cpu=0.5, memory=300)
    @step
    def work(self):
        time.sleep(self.slow_s * self.input)
        self.square = self.input * self.input
        self.pod = (current.pod or {}).get("pod")
        self.next(self.join)

    @step
    def join(self, inputs):
        self.squares = sorted(i.square for i in inputs)
        self.pods = {i.input: i.pod for i in inputs}
        self.next(self.end)

    @step
    def end(self):
        pass


if __name__ == "__main__":
    SlowPodsFlow()
