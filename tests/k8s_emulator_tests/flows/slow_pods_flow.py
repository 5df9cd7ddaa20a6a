"""A foreach on Kubernetes in which tasks 0 and 1 finish and tasks 2..5 never do in a first
run (they wait until killed), and all finish at once when the run is a resume: a test kills the
driver mid-step knowing exactly which tasks finished."""

import time

from flowassets import FlowSpec, Parameter, current, kubernetes, step


class SlowPodsFlow(FlowSpec):
    hold = Parameter("hold", default=False, type=bool)

    @step
    def start(self):
        self.items = list(range(6))
        self.next(self.work, foreach="items")

    @kubernetes(cpu=0.5, memory=300)
    @step
    def work(self):
        while self.hold and self.input >= 2 and current.origin_run_id is None:
            time.sleep(1)  # a first run: held until its driver is killed and the pod deleted
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
