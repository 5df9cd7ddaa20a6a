"""A task that kills its own process: a segfault in one foreach task, os._exit in a linear
step (chosen by the ``how`` Parameter). Its siblings finish; the run's process survives."""

import ctypes
import os

from flowassets import FlowSpec, Parameter, step


class CrashFlow(FlowSpec):
    how = Parameter("how", default="segfault", help="segfault (one foreach task) or exit (a step)")

    @step
    def start(self):
        self.items = [0, 1, 2, 3]
        self.next(self.body, foreach="items")

    @step
    def body(self):
        if self.how == "segfault" and self.input == 2:
            ctypes.string_at(0)  # reads address 0: SIGSEGV
        self.value = self.input * 10
        self.next(self.join)

    @step
    def join(self, inputs):
        self.values = sorted(i.value for i in inputs)
        self.next(self.after)

    @step
    def after(self):
        if self.how == "exit":
            os._exit(7)
        self.next(self.end)

    @step
    def end(self):
        pass
