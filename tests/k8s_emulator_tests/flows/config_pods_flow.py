"""An unchanged Metaflow file whose foreach tasks run as pods sized by a Config."""

from metaflow import Config, FlowSpec, config_expr, kubernetes, step


class ConfigPodsFlow(FlowSpec):
    sizing = Config("sizing", default_value={"cpu": 0.5, "memory": 300, "width": 2})

    @step
    def start(self):
        self.items = list(range(self.sizing.width))
        self.next(self.work, foreach="items")

    @kubernetes(cpu=config_expr("sizing.cpu"), memory=config_expr("sizing.memory"))
    @step
    def work(self):
        self.seen = (self.input, self.sizing.width, self.sizing["memory"])
        self.next(self.join)

    @step
    def join(self, inputs):
        self.seen = sorted(i.seen for i in inputs)
        self.next(self.end)

    @step
    def end(self):
        pass


if __name__ == "__main__":
    ConfigPodsFlow()
