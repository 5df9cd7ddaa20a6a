"""The same flow as an unchanged Metaflow file: pod resources from a Config."""

from metaflow import Config, FlowSpec, config_expr, kubernetes, resources, step


class MetaflowConfigPodFlow(FlowSpec):
    cfg = Config("cfg", default_value={"cpu": 2, "memory": 3000, "image": "python:3.11"})

    @step
    def start(self):
        self.next(self.train)

    @kubernetes(image=config_expr("cfg.image"))
    @resources(cpu=config_expr("cfg.cpu"), memory=config_expr("cfg.memory"))
    @step
    def train(self):
        self.next(self.end)

    @step
    def end(self):
        pass
