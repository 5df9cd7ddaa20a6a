"""Step and flow mutators (Metaflow 2.16+) after Metaflow's own examples
(test/test_config/hellodecos.py, hellodecos_base.py, mutable_flow.py): a bare FlowMutator on
a base class adds a custom decorator to every step, a FlowMutator with arguments removes a
hand-written @environment, and a StepMutator adds @retry, @environment, @resources and a
custom decorator with attributes to the step it decorates, which fails once and succeeds on
its retry; a Config gives the StepMutator's and a custom decorator's arguments (as in
hellodecos.py)."""

import os

from metaflow import (
    Config, FlowMutator, FlowSpec, StepMutator, current, environment, resources, retry, step,
    user_step_decorator,
)


@user_step_decorator
def visited(step_name, flow, inputs):
    yield
    flow.visits = getattr(flow, "visits", []) + [step_name]


@user_step_decorator
def weighted(step_name, flow, inputs, attributes):
    flow.weight = attributes["weight"] * 10
    yield


@user_step_decorator
def labelled(step_name, flow, inputs, attributes):
    flow.label = "%s@%s" % (attributes["label"], step_name)
    yield


class VisitEveryStep(FlowMutator):
    def mutate(self, mutable_flow):
        for name, mutable_step in mutable_flow.steps:
            mutable_step.add_decorator(visited)


@VisitEveryStep
class MutatedBase(FlowSpec):
    pass


class DropEnvironment(FlowMutator):
    def init(self, *args, **kwargs):
        self.step_name = args[0]

    def mutate(self, mutable_flow):
        for name, mutable_step in mutable_flow.steps:
            if name == self.step_name:
                mutable_step.remove_decorator("environment")


class Flaky(StepMutator):
    def init(self, *args, **kwargs):
        self.times = kwargs.get("times", 1)

    def mutate(self, mutable_step):
        mutable_step.add_decorator(retry, deco_kwargs={"times": self.times,
                                                       "minutes_between_retries": 0})
        mutable_step.add_decorator(environment, deco_kwargs={"vars": {"ADDED_BY": "Flaky"}})
        mutable_step.add_decorator(resources, deco_kwargs={"cpu": 2, "memory": 1024})
        mutable_step.add_decorator(weighted, deco_kwargs={"weight": self.times})


@DropEnvironment("start")
class MutatorFlow(MutatedBase):
    cfg = Config("cfg", default_value={"times": 2, "label": "from-config"})

    @environment(vars={"SHOULD_NOT_EXIST": "1"})
    @step
    def start(self):
        self.leaked = os.environ.get("SHOULD_NOT_EXIST")
        self.next(self.work)

    @Flaky(times=cfg.times)
    @step
    def work(self):
        if current.retry_count == 0:
            raise RuntimeError("fails on its first attempt")
        self.attempt = current.retry_count
        self.added_by = os.environ.get("ADDED_BY")
        self.next(self.end)

    @labelled(label=cfg.label)
    @step
    def end(self):
        self.result = [self.leaked, self.attempt, self.added_by, self.weight, self.label]


if __name__ == "__main__":
    MutatorFlow()
