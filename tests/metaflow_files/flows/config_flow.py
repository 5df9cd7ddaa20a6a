"""Configs as Metaflow 2.13+ flows use them: a JSON config given on the command line, a config
with a parser, config_expr in @resources/@environment and in a Parameter default, and a
callable Parameter default that reads the configs."""

import os

from metaflow import Config, FlowSpec, Parameter, config_expr, environment, resources, step


def key_values(text):
    """KEY=VALUE lines into a mapping (a Config parser)."""
    return dict(line.split("=", 1) for line in text.strip().splitlines())


def scaled_budget(ctx):
    return ctx.configs.model.cpu * 10 + len(ctx.parameter_name)


class ConfigFlow(FlowSpec):
    model = Config("model", default_value={"cpu": 2, "name": "base", "layers": [1, 2]})
    owners = Config("owners", default_value="team=ml\nowner=ana", parser=key_values)
    budget = Parameter("budget", default=scaled_budget, type=int)
    label = Parameter("label", default=config_expr("model.name"))

    @environment(vars={"MODEL_NAME": config_expr("model.name"), "OWNER": config_expr("owners.owner")})
    @resources(cpu=config_expr("model.cpu"), memory=2048)
    @step
    def start(self):
        self.env_name = os.environ["MODEL_NAME"]
        self.owner = os.environ["OWNER"]
        self.layers = list(self.model.layers)
        try:
            self.model.cpu = 1
            self.immutable = False
        except TypeError:
            self.immutable = True
        self.next(self.left, self.right)

    @step
    def left(self):
        self.part = self.model.cpu
        self.next(self.join)

    @step
    def right(self):
        self.part = self.model["layers"][0]
        self.next(self.join)

    @step
    def join(self, inputs):
        self.total = sum(i.part for i in inputs) + self.budget
        self.name_seen = self.model.name  # configs cross a join, as parameters do
        self.next(self.end)

    @step
    def end(self):
        self.summary = f"{self.label}:{self.owners.team}:{self.total}"


if __name__ == "__main__":
    ConfigFlow()
