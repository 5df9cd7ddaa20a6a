"""Flows whose pod resources come from a Config (flowassets' own API)."""

from flowassets import Config, FlowSpec, Parameter, config_expr, kubernetes, step


class ConfigPodFlow(FlowSpec):
    cfg = Config("cfg", default_value={"cpu": 2, "memory": 3000, "image": "python:3.11"})
    epochs = Parameter("epochs", type=int, default=config_expr("cfg.get('epochs', 1)"))

    @step
    def start(self):
        self.next(self.train)

    @kubernetes(image=config_expr("cfg.image"), cpu=cfg.cpu, memory=config_expr("cfg.memory"))
    @step
    def train(self):
        self.next(self.end)

    @step
    def end(self):
        pass
