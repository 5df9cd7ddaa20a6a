"""Foreach steps on Kubernetes whose tasks (one pod each) fail in the ways a cluster makes them
fail; tests/k8s_emulator_tests/test_task_pod_failures.py injects the pod faults (emulator fault
rules by task label) and reads each failure. Every foreach is ``width`` tasks wide (6 by default).

The test runs these flows at the same time in one namespace, and a fault rule selects pods by
flow name, step and foreach index: each failure has a flow name of its own, hence the subclasses
(steps are inherited, as in Metaflow)."""

import time

from flowassets import FlowSpec, Parameter, catch, kubernetes, retry, step, timeout


class FailingTasksFlow(FlowSpec):
    """Plain task pods: every task sleeps ``sleep_s``, so the others still run when one fails."""

    width = Parameter("width", default=6, type=int)
    sleep_s = Parameter("sleep_s", default=0.0, type=float)

    @step
    def start(self):
        self.items = list(range(self.width))
        self.next(self.work, foreach="items")

    @kubernetes(cpu=0.1, memory=200)
    @step
    def work(self):
        time.sleep(self.sleep_s)
        self.value = self.input * 10
        self.next(self.join)

    @step
    def join(self, inputs):
        self.values = sorted(i.value for i in inputs)
        self.next(self.end)

    @step
    def end(self):
        pass


class CatchingTasksFlow(FailingTasksFlow):
    """@catch over task pods: a task whose pod dies on its last attempt is recorded in
    ``failure``, and the run goes on with the others' values."""

    @catch(var="failure")
    @retry(times=1, minutes_between_retries=0)
    @kubernetes(cpu=0.1, memory=200)
    @step
    def work(self):
        self.value = self.input * 10
        self.next(self.join)

    @step
    def join(self, inputs):
        self.values = {i.index: getattr(i, "value", None) for i in inputs}
        self.failures = {i.index: getattr(i, "failure", None) for i in inputs}
        self.next(self.end)


class TimeoutTasksFlow(FailingTasksFlow):
    """@timeout on task pods: task ``slow`` sleeps well past the limit, the others are quick."""

    slow = Parameter("slow", default=5, type=int)

    @timeout(seconds=4)
    @kubernetes(cpu=0.1, memory=200)
    @step
    def work(self):
        if self.input == self.slow:
            time.sleep(90)
        self.value = self.input * 10
        self.next(self.join)


class UnschedulableTasksFlow(FailingTasksFlow):
    """A task whose pod no node can take."""


class ImagePullTasksFlow(FailingTasksFlow):
    """A task whose pod cannot pull its image."""


class WideForeachFlow(FailingTasksFlow):
    """A foreach wider than --max-num-splits."""
