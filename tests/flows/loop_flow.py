"""Loops with flowassets' own API: a recursive switch (a case naming its own step), alone and
inside a foreach.

``loop_step`` counts to ``--target`` and fails on pass ``--fail-at`` (counting from 1) until
``$MARKS/fixed`` exists; every pass appends to ``$MARKS/loop-<count>`` when ``$MARKS`` is set, so
a test counts how often each pass ran across a run and its resume. ``spin`` loops once per
foreach item, ``item`` times."""

import os

from flowassets import FlowSpec, Parameter, step


class LoopFlow(FlowSpec):
    target = Parameter("target", default=4, type=int)
    fail_at = Parameter("fail-at", default=0, type=int)

    @step
    def start(self):
        self.count = 0
        self.items = [1, 3]
        self.next(self.loop_step)

    @step
    def loop_step(self):
        self.count += 1
        marks = os.environ.get("MARKS")
        if marks:
            with open(os.path.join(marks, f"loop-{self.count}"), "a") as handle:
                handle.write("x")
            if self.count == self.fail_at and not os.path.exists(os.path.join(marks, "fixed")):
                raise RuntimeError(f"pass {self.count} is not fixed yet")
        print(f"pass {self.count}")
        self.status = "again" if self.count < self.target else "done"
        self.next({"again": self.loop_step, "done": self.fan}, condition="status")

    @step
    def fan(self):
        self.next(self.spin, foreach="items")

    @step
    def spin(self):
        self.turns = getattr(self, "turns", 0) + 1
        self.more = "yes" if self.turns < self.input else "no"
        self.next({"yes": self.spin, "no": self.leave}, condition="more")

    @step
    def leave(self):
        self.next(self.join)

    @step
    def join(self, inputs):
        self.turns_per_item = [inp.turns for inp in inputs]
        self.merge_artifacts(inputs, include=["count"])
        self.next(self.end)

    @step
    def end(self):
        pass


if __name__ == "__main__":
    LoopFlow()
