"""A 2-level nested foreach whose inner step runs on Kubernetes: 5 x 8 = 40 task pods."""

import os
import sys
import time

from flowassets import FlowSpec, Parameter, current, kubernetes, retry, step


class NestedPodsFlow(FlowSpec):
    outer_width = Parameter("outer_width", default=5, type=int)
    inner_width = Parameter("inner_width", default=8, type=int)
    sleep_s = Parameter("sleep_s", default=0.0, type=float)

    @step
    def start(self):
        self.outer = list(range(self.outer_width))
        self.next(self.fan, foreach="outer")

    @step
    def fan(self):
        self.o = self.input
        self.inner = [f"item-{self.o}-{i}" for i in range(self.inner_width)]
        self.next(self.work, foreach="inner")

    @retry(times=1, minutes_between_retries=0)
    @kubernetes(cpu=0.5, memory=300)
    @step
    def work(self):
        time.sleep(self.sleep_s)
        self.value = (self.o, self.input, self.index)
        self.pod = current.pod
        self.attempt = current.retry_count
        self.pid = os.getpid()
        print(f"task {current.task_id} on {(current.pod or {}).get('pod', 'this machine')}")
        print(f"stderr of task {current.task_id}", file=sys.stderr)
        self.next(self.inner_join)

    @step
    def inner_join(self, inputs):
        self.values = sorted(i.value for i in inputs)
        self.pods = {f"{i.o}_{i.index}": ((i.pod or {}).get("pod"), i.attempt) for i in inputs}
        self.next(self.outer_join)

    @step
    def outer_join(self, inputs):
        self.values = sorted(v for i in inputs for v in i.values)
        self.pods = {k: v for i in inputs for k, v in i.pods.items()}
        self.next(self.end)

    @step
    def end(self):
        self.count = len(self.values)
